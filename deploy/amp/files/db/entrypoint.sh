#!/bin/sh
# MariaDB for the AMP demo: on the first start, create the database, the app's user and
# one row for the page to show; then run the server in the foreground.
set -e
# Passwords come as files (Compose secrets, /run/secrets/...) or, as before, as values.
for var in MARIADB_PASSWORD MARIADB_ROOT_PASSWORD; do
  eval "file=\${${var}_FILE:-}"
  if [ -n "$file" ]; then
    value=$(cat "$file")
    export "$var=$value"
  fi
done
DATA=/var/lib/mysql
mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld "$DATA"
# Debian's package already made system tables; the flag marks the app's own setup.
if [ ! -f "$DATA/.amp-initialized" ]; then
  [ -d "$DATA/mysql" ] || mariadb-install-db --user=mysql --datadir="$DATA" --skip-test-db >/dev/null
  mariadbd --user=mysql --datadir="$DATA" --skip-networking --socket=/run/mysqld/init.sock &
  pid=$!
  i=0
  until mariadb-admin --socket=/run/mysqld/init.sock ping --silent; do
    i=$((i + 1)); [ "$i" -lt 120 ] || { echo "init server did not start" >&2; exit 1; }
    sleep 0.5
  done
  mariadb --socket=/run/mysqld/init.sock <<SQL
CREATE DATABASE IF NOT EXISTS \`${MARIADB_DATABASE}\`;
CREATE USER IF NOT EXISTS '${MARIADB_USER}'@'%' IDENTIFIED BY '${MARIADB_PASSWORD}';
GRANT ALL ON \`${MARIADB_DATABASE}\`.* TO '${MARIADB_USER}'@'%';
USE \`${MARIADB_DATABASE}\`;
CREATE TABLE IF NOT EXISTS greeting (id INT PRIMARY KEY, message VARCHAR(200));
INSERT IGNORE INTO greeting VALUES
  (1, 'Hello from MariaDB: this row was read across hosts, in dependency order');
ALTER USER 'root'@'localhost' IDENTIFIED BY '${MARIADB_ROOT_PASSWORD}';
FLUSH PRIVILEGES;
SQL
  kill "$pid"
  wait "$pid" || true
  touch "$DATA/.amp-initialized"
fi
unset MARIADB_PASSWORD MARIADB_ROOT_PASSWORD  # the server needs neither
exec mariadbd --user=mysql --datadir="$DATA" --bind-address=0.0.0.0 --port=3306 \
  --socket=/run/mysqld/mysqld.sock --skip-name-resolve
