// Package interop runs our daemons (the `fdfs` binary) next to the upstream
// FastDFS V6.16.1 C daemons and tools, and the fastdfs-client-java client,
// all as real processes on loopback addresses:
//
//   - the upstream C tools (fdfs_upload_file, fdfs_download_file,
//     fdfs_test1, fdfs_appender_test1, fdfs_monitor, ...) against our
//     cluster, with the same scenario run against an upstream cluster as
//     the control;
//   - fastdfs-client-java against our cluster;
//   - mixed clusters: our tracker with upstream storages, the upstream
//     tracker with our storages, and one group holding an upstream storage
//     and one of ours that replicate to each other (files compared on
//     disk), including kill -9 and restarts, a storage joining a populated
//     group, and the daemons swapped on the same conf files and data;
//   - nginx with fastdfs-nginx-module serving the store path of our
//     storages (trunk files included), proxying or redirecting to our
//     storages' own HTTP servers.
//
// The package needs the reference build and is skipped (one line) unless
// FDFS_REF_DIR names it; the Java tests also need FDFS_JAVA_CLIENT_CLASSES
// (the client compiled with javac), the nginx tests FDFS_NGINX (nginx built
// by scripts/build-nginx-module.sh). See docs/interop.md.
package interop
