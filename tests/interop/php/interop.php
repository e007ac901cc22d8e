<?php
// interop.php drives a FastDFS cluster with upstream's PHP extension
// (fastdfs/php_client, fastdfs_client.so on libfdfsclient) and checks
// every answer; tests/interop runs it against our daemons and the
// upstream ones (the control).
//
// Usage: php -n -d extension=fastdfs_client.so -d fastdfs_client.tracker_group0=<client.conf> ...
//        interop.php <ip,ip,...> <work dir> pool|nopool ip|id
// (the IPs of the storages of group1; ip or id: the storage-id mode). It
// prints one line per step and "OK <n> checks" at the end; a failed check
// exits with status 1.

const STATUS_ACTIVE = 7; // FDFS_STORAGE_STATUS_ACTIVE
const ENOENT = 2;
const EINVAL = 22;
const EEXIST = 17;

$checks = 0;

function check($ok, $what)
{
    global $checks;
    $checks++;
    if (!$ok) {
        throw new Exception("check failed: $what (last error " . fastdfs_get_last_error_no() . ": " .
            fastdfs_get_last_error_info() . ")");
    }
}

function step($s)
{
    echo "== $s\n";
}

// rnd returns n bytes of a seeded generator, the same for the same seed.
function rnd($seed, $n)
{
    mt_srand($seed);
    $b = '';
    for ($i = 0; $i < $n; $i += 4) {
        $b .= pack('N', mt_rand());
    }
    return substr($b, 0, $n);
}

// crc is the signed CRC32 upstream's file info reports.
function crc($b)
{
    $c = crc32($b);
    return $c >= 0x80000000 ? $c - 0x100000000 : $c;
}

function sameBytes($got, $want, $what)
{
    check($got !== false, "$what: download failed");
    check($got === $want, "$what: got " . strlen($got) . " bytes (crc " . crc($got) . "), want " .
        strlen($want) . " (crc " . crc($want) . ")");
}

// gone reports whether downloading id fails with ENOENT within 10 s: the
// tracker may send the download to a replica the change has not reached
// yet (replication is asynchronous with either daemon).
function gone($id)
{
    for ($i = 0; $i < 200; $i++) {
        if (fastdfs_storage_download_file_to_buff1($id) === false && fastdfs_get_last_error_no() == ENOENT) {
            return true;
        }
        usleep(50000);
    }
    return false;
}

function listing($ips)
{
    step('tracker: list groups and storages, queries');
    $groups = fastdfs_tracker_list_groups();
    check(is_array($groups) && isset($groups['group1']) && count($groups) == 1, 'one group: ' . json_encode($groups));
    $g = $groups['group1'];
    check($g['storage_server_count'] == count($ips), 'storage count ' . $g['storage_server_count']);
    check($g['readable_server_count'] == count($ips), 'readable count ' . $g['readable_server_count']);
    check($g['writable_server_count'] == count($ips), 'writable count ' . $g['writable_server_count']);
    check($g['free_space'] > 0, 'free space ' . $g['free_space']);
    foreach ($ips as $ip) {
        $found = false;
        foreach ($g as $k => $s) {
            if (is_array($s) && $s['ip_addr'] === $ip) {
                $found = true;
                check($s['status'] == STATUS_ACTIVE, "$ip status " . $s['status']);
                check($s['join_time'] > 0 && $s['up_time'] > 0, "$ip join/up time");
            }
        }
        check($found, "storage $ip listed");
    }
    $store = fastdfs_tracker_query_storage_store();
    check(is_array($store) && in_array($store['ip_addr'], $ips) && $store['store_path_index'] == 0,
        'query_storage_store ' . json_encode($store));
    $list = fastdfs_tracker_query_storage_store_list('group1');
    check(is_array($list) && count($list) >= 1, 'query_storage_store_list');
    $tracker = fastdfs_tracker_get_connection();
    check(is_array($tracker) && fastdfs_active_test($tracker), 'active test of the tracker');
}

function uploads($ips, $work)
{
    step('upload from a buffer with metadata, download whole, ranged, to a file');
    $data = rnd(1, 1234567);
    $id = fastdfs_storage_upload_by_filebuff1($data, 'bin', ['width' => '1024', 'author' => 'interop']);
    check(is_string($id) && strpos($id, 'group1/M00/') === 0 && substr($id, -4) === '.bin', "file ID $id");
    sameBytes(fastdfs_storage_download_file_to_buff1($id), $data, 'download');
    sameBytes(fastdfs_storage_download_file_to_buff1($id, 1000, 5000), substr($data, 1000, 5000), 'ranged download');
    sameBytes(fastdfs_storage_download_file_to_buff1($id, 1234000), substr($data, 1234000), 'download to the end');
    $local = "$work/php-download.bin";
    check(fastdfs_storage_download_file_to_file1($id, $local), 'download to a file');
    sameBytes(file_get_contents($local), $data, 'download to a file');
    // Not by callback: the extension's download callback corrupts the
    // content, and PHP 8.2's heap past about 4 KB, with either server.
    check(fastdfs_storage_file_exist1($id), 'file exists');

    step('metadata get / merge / overwrite');
    $meta = fastdfs_storage_get_metadata1($id);
    ksort($meta);
    check($meta == ['author' => 'interop', 'width' => '1024'], 'metadata ' . json_encode($meta));
    check(fastdfs_storage_set_metadata1($id, ['width' => '2048', 'color' => 'blue'], FDFS_STORAGE_SET_METADATA_FLAG_MERGE), 'merge');
    $meta = fastdfs_storage_get_metadata1($id);
    ksort($meta);
    check($meta == ['author' => 'interop', 'color' => 'blue', 'width' => '2048'], 'merged ' . json_encode($meta));
    check(fastdfs_storage_set_metadata1($id, ['only' => 'this'], FDFS_STORAGE_SET_METADATA_FLAG_OVERWRITE), 'overwrite');
    check(fastdfs_storage_get_metadata1($id) == ['only' => 'this'], 'overwritten ' . json_encode(fastdfs_storage_get_metadata1($id)));

    step('file info and tracker queries for the file');
    $fi = fastdfs_get_file_info1($id);
    check(is_array($fi) && $fi['file_size'] == strlen($data) && $fi['crc32'] == crc($data), 'file info ' . json_encode($fi));
    check(abs($fi['create_timestamp'] - time()) < 600, 'create timestamp ' . $fi['create_timestamp']);
    check(is_array(fastdfs_tracker_query_storage_fetch1($id)), 'query_storage_fetch1');
    check(is_array(fastdfs_tracker_query_storage_update1($id)), 'query_storage_update1');
    $all = fastdfs_tracker_query_storage_list1($id);
    check(is_array($all) && count($all) >= 1, 'query_storage_list1');

    step('upload from a local file, by callback, an empty buffer');
    $text = "the PHP extension was here\n";
    file_put_contents("$work/php-upload.txt", $text);
    $id2 = fastdfs_storage_upload_by_filename1("$work/php-upload.txt");
    check(is_string($id2) && substr($id2, -4) === '.txt', "upload local file: $id2");
    sameBytes(fastdfs_storage_download_file_to_buff1($id2), $text, 'download of the local file');
    $cbData = rnd(7, 77777);
    $up = ['callback' => 'send', 'file_size' => strlen($cbData), 'args' => ['buff' => $cbData]];
    $id3 = fastdfs_storage_upload_by_callback1($up, 'dat');
    check(is_string($id3), 'upload by callback');
    sameBytes(fastdfs_storage_download_file_to_buff1($id3), $cbData, 'download of the callback upload');
    $empty = fastdfs_storage_upload_by_filebuff1('', '');
    check(is_string($empty), 'upload empty');
    $ei = fastdfs_get_file_info1($empty);
    check(is_array($ei) && $ei['file_size'] == 0, 'empty file info ' . json_encode($ei));
    return [$id, $data, [$id2, $id3, $empty]];
}

function send($sock, $args)
{
    return fastdfs_send_data($sock, $args['buff']);
}

function slaves($id, $pooled)
{
    step('slave file');
    $thumb = rnd(2, 4321);
    $slave = fastdfs_storage_upload_slave_by_filebuff1($thumb, $id, '_thumb', 'jpg');
    $want = substr($id, 0, -strlen('.bin')) . '_thumb.jpg';
    check($slave === $want, "slave ID $slave, want $want");
    check(fastdfs_gen_slave_filename($id, '_thumb', 'jpg') === $want, 'gen_slave_filename');
    sameBytes(fastdfs_storage_download_file_to_buff1($slave), $thumb, 'download slave');
    $si = fastdfs_get_file_info1($slave);
    check(is_array($si) && $si['file_size'] == strlen($thumb) && $si['crc32'] == crc($thumb), 'slave info ' . json_encode($si));
    if (!$pooled) {
        check(fastdfs_storage_upload_slave_by_filebuff1($thumb, $id, '_thumb', 'jpg') === false &&
            fastdfs_get_last_error_no() == EEXIST, 'second slave with the same prefix');
    }
    return $slave;
}

function appenders($id, $pooled)
{
    step('appender: upload, append, modify, truncate, info, regenerate');
    $p1 = rnd(3, 100000);
    $p2 = rnd(4, 50000);
    $p3 = rnd(5, 10000);
    $aid = fastdfs_storage_upload_appender_by_filebuff1($p1, 'log');
    check(is_string($aid), 'upload appender');
    check(fastdfs_storage_append_by_filebuff1($p2, $aid), 'append');
    $cur = $p1 . $p2;
    sameBytes(fastdfs_storage_download_file_to_buff1($aid), $cur, 'after append');
    check(fastdfs_storage_modify_by_filebuff1($p3, 90000, $aid), 'modify');
    $cur = substr_replace($cur, $p3, 90000, strlen($p3));
    sameBytes(fastdfs_storage_download_file_to_buff1($aid), $cur, 'after modify');
    check(fastdfs_storage_truncate_file1($aid, 120000), 'truncate');
    $cur = substr($cur, 0, 120000);
    sameBytes(fastdfs_storage_download_file_to_buff1($aid), $cur, 'after truncate');
    $ai = fastdfs_get_file_info1($aid);
    check(is_array($ai) && $ai['get_from_server'] && $ai['file_size'] == strlen($cur) && $ai['crc32'] == crc($cur),
        'appender info ' . json_encode($ai));
    if (!$pooled) {
        check(!fastdfs_storage_append_by_filebuff1($p3, $id) && fastdfs_get_last_error_no() == EINVAL, 'append to a normal file');
    }
    $nid = fastdfs_storage_regenerate_appender_filename1($aid);
    check(is_string($nid) && $nid !== $aid && substr($nid, -4) === '.log', "regenerate: $nid");
    sameBytes(fastdfs_storage_download_file_to_buff1($nid), $cur, 'download regenerated');
    check(gone($aid), 'old appender name gone');
    return $nid;
}

// objects: the extension's class API, which many applications use instead
// of the functions.
function objects()
{
    step('the FastDFS class');
    $fdfs = new FastDFS();
    $data = rnd(9, 54321);
    $id = $fdfs->storage_upload_by_filebuff1($data, 'png', ['kind' => 'object']);
    check(is_string($id) && substr($id, -4) === '.png', "class upload: $id");
    sameBytes($fdfs->storage_download_file_to_buff1($id), $data, 'class download');
    check($fdfs->storage_get_metadata1($id) == ['kind' => 'object'], 'class metadata');
    $fi = $fdfs->get_file_info1($id);
    check(is_array($fi) && $fi['file_size'] == strlen($data) && $fi['crc32'] == crc($data), 'class file info');
    check($fdfs->storage_delete_file1($id), 'class delete');
    check(!$fdfs->storage_delete_file1($id) && $fdfs->get_last_error_no() == ENOENT, 'class delete again');
    $fdfs->tracker_close_all_connections();
}

function deletes($ids, $id)
{
    step('delete');
    foreach ($ids as $d) {
        check(fastdfs_storage_delete_file1($d), "delete $d");
    }
    check(gone($id), 'download deleted');
    check(fastdfs_storage_get_metadata1($id) === false && fastdfs_get_last_error_no() == ENOENT, 'metadata of deleted');
    check(!fastdfs_storage_delete_file1($id) && fastdfs_get_last_error_no() == ENOENT, 'delete deleted');
    check(!fastdfs_storage_file_exist1($id), 'deleted file does not exist');
}

function main($argv)
{
    global $checks;
    if (count($argv) != 5) {
        fwrite(STDERR, "usage: interop.php <storage ips> <work dir> pool|nopool ip|id\n");
        exit(2);
    }
    $ips = explode(',', $argv[1]);
    $pooled = $argv[3] === 'pool';
    try {
        echo 'client ' . fastdfs_client_version() . "\n";
        listing($ips);
        [$id, $data, $more] = uploads($ips, $argv[2]);
        $slave = slaves($id, $pooled);
        $nid = appenders($id, $pooled);
        deletes(array_merge([$slave, $id, $nid], $more), $id);
        objects();
    } catch (Throwable $e) {
        echo "FAILED after $checks checks: " . $e->getMessage() . "\n" . $e->getTraceAsString() . "\n";
        exit(1);
    }
    echo "OK $checks checks\n";
}

main($argv);
