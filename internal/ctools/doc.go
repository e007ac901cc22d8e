// Package ctools runs the command lines of upstream's C client programs
// (fdfs_upload_file, fdfs_download_file, fdfs_delete_file, fdfs_file_info,
// fdfs_upload_appender, fdfs_append_file, fdfs_regenerate_filename,
// fdfs_crc32, fdfs_monitor, fdfs_tracker_stat, fdfs_storage_stat,
// fdfs_volumn_stat, fdfs_test, fdfs_test1, fdfs_appender_test and
// fdfs_appender_test1) on the client engine, with their arguments, output
// and exit statuses, so that the scripts and health checks written for
// them keep working when the C package is removed. The fdfs binary runs
// one of them when called by its name (a link, as `make install` makes).
//
// What a script reads is kept byte for byte: the lines on stdout, which
// stream a message goes to, and the exit status, which is a Linux errno as
// upstream's (including its quirks: fdfs_download_file and fdfs_file_info
// exit 0 on failure; a tracker that cannot be reached gives 115, the errno
// upstream's non-blocking connect leaves). Log lines on stderr keep
// upstream's "[date time] ERROR - " form; their text is ours.
package ctools
