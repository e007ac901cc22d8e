// Package memtmp points a test's temporary directories at memory
// (/dev/shm) where the machine has it: for fuzz targets whose code under
// test fsyncs what it writes, some 10 ms a call on a disk and nothing in
// memory, so that a run through their seeds stays well under a second.
package memtmp
