// Package cprograms tests our versions of upstream's C client programs
// (internal/ctools: fdfs_upload_file, fdfs_monitor, ...) against a real
// in-process cluster: each program's output and exit status through
// every operation and the failures a script meets. tests/interop compares
// them line for line with upstream's programs when the reference build is
// present.
package cprograms
