// Package fileid encodes, decodes, generates and validates FastDFS file IDs
// ("group1/M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt") exactly as the
// upstream V6.16 servers do.
//
// A logical file name is "Mxx/HH/LL/" (store path index and two directory
// levels, uppercase hex) followed by 27 characters of FastDFS base64 (20
// bytes: source storage, create time, masked size, CRC32) and a 7-character
// formatted extension. Slave files reuse their master's stem and append a
// prefix; trunk files carry 16 more base64 characters of trunk location.
//
// Parse is the single gatekeeper for names arriving from the network: it
// rejects anything that could escape a store path ("..", separators, NUL)
// with an error wrapping protocol.ErrInvalid.
package fileid
