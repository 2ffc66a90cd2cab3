"""Secrets and configs as stored objects: plan (pure), store (etcd, sealing), api,
delivery, migrate."""
