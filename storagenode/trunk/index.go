package trunk

import (
	"fmt"
	"slices"
	"sort"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// trunkKey names a trunk file.
type trunkKey struct {
	path, high, low int
	id              uint32
}

func keyOf(l Location) trunkKey { return trunkKey{l.StorePathIndex, l.High, l.Low, l.ID} }

// block is a free or held block of one trunk file.
type block struct {
	off, size uint32
	held      bool
}

// index holds the free blocks by size (best fit: the smallest free block
// at least as large as asked) per store path, and every free or held
// block per trunk file by offset, which is what catches a block freed
// twice or overlapping another (upstream's trunk_free_block_checker) and
// what merging looks at.
type index struct {
	sizes  [][]uint32              // per store path: sorted distinct sizes with free blocks
	bySize []map[uint32][]Location // per store path: free blocks of a size, last freed first
	trunks map[trunkKey][]block    // per trunk file, sorted by offset
	free   int64                   // bytes in free blocks
	count  int                     // free blocks
}

func newIndex(paths int) *index {
	ix := &index{sizes: make([][]uint32, paths), bySize: make([]map[uint32][]Location, paths), trunks: map[trunkKey][]block{}}
	for i := range ix.bySize {
		ix.bySize[i] = map[uint32][]Location{}
	}
	return ix
}

// insert adds l as a free (or held) block; an overlap with a known block
// of its trunk file is EEXIST and changes nothing.
func (ix *index) insert(l Location, held bool) error {
	end := uint64(l.Offset) + uint64(l.Size)
	// A block ending past 4 GiB (a damaged record) cannot be: the offsets
	// of its slots, uint32 as in a file ID, would wrap onto the start of
	// the trunk file, over the files stored there.
	if l.StorePathIndex < 0 || l.StorePathIndex >= len(ix.sizes) || l.Size == 0 || end > 1<<32 {
		return fmt.Errorf("trunk: block %s: %w", l, protocol.ErrInvalid)
	}
	k := keyOf(l)
	bs := ix.trunks[k]
	i := sort.Search(len(bs), func(i int) bool { return bs[i].off >= l.Offset })
	if i < len(bs) && uint64(bs[i].off) < end || i > 0 && uint64(bs[i-1].off)+uint64(bs[i-1].size) > uint64(l.Offset) {
		return fmt.Errorf("trunk: block %s overlaps a free or reserved block: %w", l, protocol.ErrExists)
	}
	ix.trunks[k] = slices.Insert(bs, i, block{off: l.Offset, size: l.Size, held: held})
	if !held {
		ix.addSize(l)
	}
	return nil
}

// find returns the position of the block exactly at l in its trunk file.
func (ix *index) find(l Location) (int, bool) {
	bs := ix.trunks[keyOf(l)]
	i := sort.Search(len(bs), func(i int) bool { return bs[i].off >= l.Offset })
	return i, i < len(bs) && bs[i].off == l.Offset && bs[i].size == l.Size
}

// remove drops the block exactly at l (free or held as said); false if
// there is none.
func (ix *index) remove(l Location, held bool) bool {
	i, ok := ix.find(l)
	k := keyOf(l)
	if !ok || ix.trunks[k][i].held != held {
		return false
	}
	ix.trunks[k] = slices.Delete(ix.trunks[k], i, i+1)
	if len(ix.trunks[k]) == 0 {
		delete(ix.trunks, k)
	}
	if !held {
		ix.dropSize(l)
	}
	return true
}

// setHeld turns a held block free again (or a free one held).
func (ix *index) setHeld(l Location, held bool) bool {
	i, ok := ix.find(l)
	k := keyOf(l)
	if !ok || ix.trunks[k][i].held == held {
		return false
	}
	ix.trunks[k][i].held = held
	if held {
		ix.dropSize(l)
	} else {
		ix.addSize(l)
	}
	return true
}

func (ix *index) addSize(l Location) {
	p := l.StorePathIndex
	if _, ok := ix.bySize[p][l.Size]; !ok {
		i, _ := slices.BinarySearch(ix.sizes[p], l.Size)
		ix.sizes[p] = slices.Insert(ix.sizes[p], i, l.Size)
	}
	ix.bySize[p][l.Size] = append(ix.bySize[p][l.Size], l)
	ix.free += int64(l.Size)
	ix.count++
}

func (ix *index) dropSize(l Location) {
	p := l.StorePathIndex
	ls := ix.bySize[p][l.Size]
	if i := slices.Index(ls, l); i >= 0 {
		ls = slices.Delete(ls, i, i+1)
	}
	if len(ls) > 0 {
		ix.bySize[p][l.Size] = ls
	} else {
		delete(ix.bySize[p], l.Size)
		if i, ok := slices.BinarySearch(ix.sizes[p], l.Size); ok {
			ix.sizes[p] = slices.Delete(ix.sizes[p], i, i+1)
		}
	}
	ix.free -= int64(l.Size)
	ix.count--
}

// bestFit returns the last freed of the smallest free blocks of at least
// size bytes on store path p.
func (ix *index) bestFit(p int, size uint32) (Location, bool) {
	i, _ := slices.BinarySearch(ix.sizes[p], size)
	if i == len(ix.sizes[p]) {
		return Location{}, false
	}
	ls := ix.bySize[p][ix.sizes[p][i]]
	return ls[len(ls)-1], true
}

// neighbours returns the free blocks right before and after l in its
// trunk file (zero Size when there is none).
func (ix *index) neighbours(l Location) (prev, next Location) {
	bs := ix.trunks[keyOf(l)]
	i, _ := ix.find(l)
	if i > 0 && !bs[i-1].held && bs[i-1].off+bs[i-1].size == l.Offset {
		prev = l
		prev.Offset, prev.Size = bs[i-1].off, bs[i-1].size
	}
	if i+1 < len(bs) && !bs[i+1].held && bs[i+1].off == l.Offset+l.Size {
		next = l
		next.Offset, next.Size = bs[i+1].off, bs[i+1].size
	}
	return prev, next
}

// each calls fn for every free or held block, in trunk and offset order.
func (ix *index) each(fn func(l Location, held bool)) {
	keys := make([]trunkKey, 0, len(ix.trunks))
	for k := range ix.trunks {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b trunkKey) int {
		if a.path != b.path {
			return a.path - b.path
		}
		if a.id != b.id {
			return int(int64(a.id) - int64(b.id))
		}
		return (a.high<<8 | a.low) - (b.high<<8 | b.low)
	})
	for _, k := range keys {
		for _, b := range ix.trunks[k] {
			fn(Location{StorePathIndex: k.path, High: k.high, Low: k.low, ID: k.id, Offset: b.off, Size: b.size}, b.held)
		}
	}
}
