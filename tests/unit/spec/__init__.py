"""Tests of controlplane.spec: the Compose file -> AppSpec layer."""
