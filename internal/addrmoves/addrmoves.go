package addrmoves

// maxHops bounds how many moves Current follows, so that a cycle (a
// hand-edited file) cannot hang it.
const maxHops = 16

// Book maps an old address to the one its storage moved to next. The
// zero value is empty and ready; it is not safe for concurrent use.
type Book struct {
	next map[string]string
}

// Add records that the storage at old is now at new; false when that was
// known already. The new address names that storage again, whatever once
// moved away from it.
func (b *Book) Add(old, new string) bool {
	if old == new || b.next[old] == new {
		return false
	}
	if b.next == nil {
		b.next = map[string]string{}
	}
	b.next[old] = new
	delete(b.next, new)
	return true
}

// Current is the address the storage once at addr has now: addr itself
// when it never moved.
func (b *Book) Current(addr string) string {
	for range maxHops {
		n, ok := b.next[addr]
		if !ok {
			break
		}
		addr = n
	}
	return addr
}

// Forget drops every move to or through addr, once no storage has it (a
// deleted storage).
func (b *Book) Forget(addr string) {
	var gone []string
	for old := range b.next {
		if b.Current(old) == addr {
			gone = append(gone, old)
		}
	}
	for _, old := range gone {
		delete(b.next, old)
	}
}

// Pairs lists the moves as they were recorded (old, next), for storing.
func (b *Book) Pairs() [][2]string {
	out := make([][2]string, 0, len(b.next))
	for o, n := range b.next {
		out = append(out, [2]string{o, n})
	}
	return out
}
