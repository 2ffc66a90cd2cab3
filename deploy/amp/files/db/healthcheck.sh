#!/bin/sh
# Healthy when the server answers the app's own user over TCP. The password goes through
# the environment of this one command (MYSQL_PWD), never its command line.
if [ -n "${MARIADB_PASSWORD_FILE:-}" ]; then
  MARIADB_PASSWORD=$(cat "$MARIADB_PASSWORD_FILE")
fi
MYSQL_PWD="$MARIADB_PASSWORD" exec mariadb-admin ping -h 127.0.0.1 -P 3306 -u "$MARIADB_USER" --silent
