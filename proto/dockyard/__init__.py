"""Generated wire code for Dockyard. The package follows the .proto package `dockyard.v1`."""
