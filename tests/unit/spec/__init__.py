"""Tests of dockyard.client.compose: the Compose file -> AppSpec layer."""
