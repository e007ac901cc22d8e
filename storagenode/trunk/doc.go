// Package trunk is the on-disk format of FastDFS trunk storage
// (use_trunk_file = true), compatible with upstream V6.16.1: small files
// are stored as slots inside big trunk files instead of one file each.
//
// A trunk file is <store_path>/data/HH/LL/NNNNNN (the trunk id in at least
// six decimal digits). Each slot starts with a 24-byte header (file type,
// alloc size, file size, CRC32, mtime, the 7-byte formatted extension,
// integers big-endian) followed by the content. A trunk file ID
// (Mxx/HH/LL/<27 base64><16 base64 trunk location><ext>) names the trunk
// file by its HH/LL and id, and the slot by offset and alloc size; the
// header is checked against what the name says before any byte is served,
// so a stale or forged ID is ENOENT and an ID outside its trunk file EINVAL.
//
// The package also holds the trunk binlog records (data/trunk/binlog.NNN)
// and the free block index with its allocator, which the group's trunk
// server uses to hand out slots.
package trunk
