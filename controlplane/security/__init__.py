"""Certificates, join tokens and who may call what: see pki.py and cluster.py."""
