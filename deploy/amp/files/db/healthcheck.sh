#!/bin/sh
# Healthy when the server answers the app's own user over TCP.
exec mariadb-admin ping -h 127.0.0.1 -P 3306 -u "$MARIADB_USER" -p"$MARIADB_PASSWORD" --silent
