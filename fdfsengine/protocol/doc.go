// Package protocol is the FastDFS V6 wire format: the 10-byte packet header,
// command codes, status codes (Linux errno values) mapped to domain errors,
// fixed-width field helpers and the body codecs of every command.
//
// All integers on the wire are big-endian. String fields have a fixed width
// and are NUL padded; padding is not always zero in real traffic, so they are
// always read as C strings (up to the first NUL).
package protocol
