<?php
// The AMP demo page: one row from MariaDB, and which hosts served it.
header('Content-Type: text/plain; charset=utf-8');
$db_host = getenv('DB_HOST') ?: 'db';
$web_node = $_SERVER['HTTP_X_WEB_NODE'] ?? 'unknown';
$php_node = getenv('DOCKYARD_NODE') ?: gethostname();
// The password is a Compose secret: a file under /run/secrets/ (the variable names it).
$password_file = getenv('MARIADB_PASSWORD_FILE');
$password = $password_file ? trim((string) @file_get_contents($password_file))
                           : getenv('MARIADB_PASSWORD');
mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
try {
    $db = new mysqli($db_host, getenv('MARIADB_USER'), $password,
                     getenv('MARIADB_DATABASE'), 3306);
    $row = $db->query('SELECT message FROM greeting WHERE id = 1')->fetch_row();
    $db_node = $db->query("SELECT @@hostname")->fetch_row()[0];
    echo "Dockyard AMP demo\n";
    echo "row from MariaDB: {$row[0]}\n";
    echo "web (Apache) on node: {$web_node}\n";
    echo "php (PHP-FPM) on node: {$php_node}\n";
    echo "database container: {$db_node}, reached as {$db_host}:3306\n";
} catch (mysqli_sql_exception $e) {
    http_response_code(503);
    echo "database unavailable at {$db_host}: " . $e->getMessage() . "\n";
}
