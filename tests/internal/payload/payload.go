// Package payload makes the file contents the cluster suites upload:
// deterministic, so that a test can rebuild what it expects to read back,
// and different from seed to seed, so that two files never match by
// chance.
package payload

// Bytes returns n pseudo-random bytes (xorshift32) determined by seed.
func Bytes(seed, n int) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}
