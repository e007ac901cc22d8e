package bufpool

import (
	"slices"
	"sync"

	"google.golang.org/grpc/mem"
)

// Pool keeps buffers of a few fixed capacities (its tiers). Get serves a
// length from the smallest tier that holds it and allocates beyond the
// largest; Put takes back only buffers whose capacity is exactly a tier's.
type Pool struct {
	tiers []*tier
}

type tier struct {
	size int
	pool sync.Pool
}

var _ mem.BufferPool = (*Pool)(nil)

// New returns a pool with tiers of the given capacities in bytes.
func New(sizes ...int) *Pool {
	sizes = slices.Clone(sizes)
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)
	p := &Pool{}
	for _, s := range sizes {
		if s > 0 {
			p.tiers = append(p.tiers, &tier{size: s})
		}
	}
	return p
}

// Get returns a buffer of length n whose content is unspecified.
func (p *Pool) Get(n int) *[]byte {
	for _, t := range p.tiers {
		if n <= t.size {
			bp, _ := t.pool.Get().(*[]byte)
			if bp == nil {
				b := make([]byte, t.size)
				bp = &b
			}
			*bp = (*bp)[:n]
			return bp
		}
	}
	b := make([]byte, n)
	return &b
}

// Put gives a buffer back for reuse; one that no tier holds is left to the
// garbage collector.
func (p *Pool) Put(bp *[]byte) {
	c := cap(*bp)
	for _, t := range p.tiers {
		if c == t.size {
			*bp = (*bp)[:c]
			t.pool.Put(bp)
			return
		}
		if c < t.size {
			return
		}
	}
}
