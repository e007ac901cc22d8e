#!/usr/bin/env bash
# nginx with fastdfs-nginx-module, the HTTP front end most FastDFS sites put on their storages,
# built against the upstream reference for tests/interop's TestNginxModule:
#
#   bash scripts/build-nginx-module.sh <MIRRORS> <FDFS_REF_DIR>
#   FDFS_NGINX=<FDFS_REF_DIR>/nginx/sbin/nginx FDFS_REF_DIR=... go test -run TestNginxModule ./tests/interop
#
# <MIRRORS> holds bare repositories laid out as ../shared/refenv expects
# (<MIRRORS>/nginx+nginx/repo and <MIRRORS>/happyfish100+fastdfs-nginx-module/repo; bring them
# with the fetch verb); <FDFS_REF_DIR> is the reference build of ../shared/refenv (the module
# links its libfdfsclient, libfastcommon and libserverframe). The shared environment builds no
# nginx, so this recipe lives here. About a minute on 2 cores; no package beyond a C compiler
# (nginx is configured without the rewrite and gzip modules, which would need PCRE and zlib).
#
# One change to the module: it reads /etc/fdfs/mod_fastdfs.conf, a path compiled in, and the
# tests run several nginx at once with a conf each, so the path is taken from the environment
# variable FDFS_MOD_CONF when that is set (nginx.conf must pass it on: `env FDFS_MOD_CONF;`).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 <MIRRORS> <FDFS_REF_DIR>" >&2; exit 2; }
mirrors=$(realpath "$1")
ref=$(realpath "$2")
NGINX_TAG=${NGINX_TAG:-release-1.28.3}
MODULE_TAG=${MODULE_TAG:-V1.26} # 2025-11-12, for FastDFS >= 6.15.1
for f in "$ref/install/usr/lib/libfdfsclient.so" "$ref/install/usr/include/fastdfs/fdfs_client.h"; do
  [ -e "$f" ] || { echo "$0: $f is missing: build the reference first (../shared/refenv)" >&2; exit 1; }
done
src=$ref/nginx-src
rm -rf "$src" "$ref/nginx"
mkdir -p "$src"
git clone -q "$mirrors/nginx+nginx/repo" "$src/nginx"
git -C "$src/nginx" checkout -q "$NGINX_TAG"
git clone -q "$mirrors/happyfish100+fastdfs-nginx-module/repo" "$src/module"
git -C "$src/module" checkout -q "$MODULE_TAG"

common=$src/module/src/common.c
sed -i 's|^#include "common.h"$|#include "common.h"\n#undef FDFS_MOD_CONF_FILENAME\n#define FDFS_MOD_CONF_FILENAME (getenv("FDFS_MOD_CONF") != NULL ? getenv("FDFS_MOD_CONF") : "/etc/fdfs/mod_fastdfs.conf")|' "$common"
grep -q 'getenv("FDFS_MOD_CONF")' "$common" || { echo "$0: the conf path patch did not apply" >&2; exit 1; }

cd "$src/nginx"
inc=$ref/install/usr/include
lib=$ref/install/usr/lib
./auto/configure --prefix="$ref/nginx" \
  --without-http_rewrite_module --without-http_gzip_module \
  --add-module="$src/module/src" \
  --with-cc-opt="-I$inc -Wno-error" \
  --with-ld-opt="-L$lib -Wl,-rpath,$lib" >"$src/configure.log"
make -j"$(nproc)" >"$src/make.log" 2>&1 || { tail -n 30 "$src/make.log" >&2; exit 1; }
make install >/dev/null
printf 'nginx %s + fastdfs-nginx-module %s (%s)\n' "$NGINX_TAG" "$MODULE_TAG" "$(git -C "$src/module" rev-parse HEAD)" >"$ref/nginx/VERSIONS"
echo "built $ref/nginx/sbin/nginx: $(cat "$ref/nginx/VERSIONS")"
