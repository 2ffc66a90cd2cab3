#!/bin/sh
# PHP-FPM for the AMP demo: listen on every address, keep the environment, log to stderr.
set -e
mkdir -p /run/php
conf=/etc/php/8.2/fpm/pool.d/www.conf
sed -i -e 's|^listen = .*|listen = 9000|' -e 's|^;clear_env = no|clear_env = no|' "$conf"
sed -i -e 's|^error_log = .*|error_log = /proc/self/fd/2|' /etc/php/8.2/fpm/php-fpm.conf
exec php-fpm8.2 --nodaemonize --force-stderr
