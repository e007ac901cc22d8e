// Package logfile is the error log of a daemon that runs in the
// background, as upstream's: base_path/logs/<name>.log, rotated every day
// at log_file_rotate_time and when it grows past log_file_rotate_on_size
// (renamed <name>.log.YYYYMMDD_HHMMSS, upstream's format), the rotated
// files gzipped after log_file_compress_days_before days and deleted after
// log_file_keep_days, at log_file_delete_old_time.
package logfile
