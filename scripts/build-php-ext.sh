#!/usr/bin/env bash
# Upstream's PHP extension (php_client/ of the fastdfs source, fastdfs_client.so, the FastDFS
# client of PHP sites), built against the upstream reference for tests/interop's TestPHPClient:
#
#   bash scripts/build-php-ext.sh <FDFS_REF_DIR>
#   FDFS_PHP_EXT=<FDFS_REF_DIR>/php/modules/fastdfs_client.so FDFS_REF_DIR=... go test -run TestPHPClient ./tests/interop
#
# <FDFS_REF_DIR> is the reference build of ../shared/refenv, whose src/fastdfs holds the exact
# sources built (php_client/ among them); the extension links its libfdfsclient and
# libfastcommon. Needs phpize and php (Debian: apt-get install php-cli php-dev; PHP 8.2 in
# bookworm). Under a minute on 2 cores.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 <FDFS_REF_DIR>" >&2; exit 2; }
ref=$(realpath "$1")
for f in "$ref/install/usr/lib/libfdfsclient.so" "$ref/src/fastdfs/php_client/config.m4"; do
  [ -e "$f" ] || { echo "$0: $f is missing: build the reference first (../shared/refenv)" >&2; exit 1; }
done
command -v phpize >/dev/null || { echo "$0: phpize not found (Debian: apt-get install php-cli php-dev)" >&2; exit 1; }
rm -rf "$ref/php"
cp -r "$ref/src/fastdfs/php_client" "$ref/php"
cd "$ref/php"
export C_INCLUDE_PATH=$ref/install/usr/include LIBRARY_PATH=$ref/install/usr/lib
phpize >/dev/null
./configure >/dev/null
make -j"$(nproc)" >/dev/null
echo "$ref/php/modules/fastdfs_client.so"
