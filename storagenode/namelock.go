package storagenode

import "sync"

// nameLocks serialises the changes of one file name (appends, modifies,
// truncates, deletes, metadata writes, regenerates and their replicas)
// with one mutex per name in use. Stripes shared by unrelated names would
// let a client trickling a large append (it holds its name's lock while
// its body arrives, up to network_timeout between reads) stall the changes
// of every file hashed to the same stripe.
type nameLocks struct {
	mu sync.Mutex
	m  map[string]*nameLock
}

// nameLock is the mutex of one name; refs counts its holder and waiters,
// and the entry is dropped when the last of them is done.
type nameLock struct {
	sync.Mutex
	refs int
}

// heldName is a name's lock, held until Unlock.
type heldName struct {
	l    *nameLocks
	name string
	e    *nameLock
}

// lock takes name's lock, waiting for its holder if there is one.
func (l *nameLocks) lock(name string) heldName {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*nameLock{}
	}
	e := l.m[name]
	if e == nil {
		e = &nameLock{}
		l.m[name] = e
	}
	e.refs++
	l.mu.Unlock()
	e.Lock()
	return heldName{l: l, name: name, e: e}
}

// Unlock releases the lock.
func (h heldName) Unlock() {
	h.e.Unlock()
	h.l.mu.Lock()
	if h.e.refs--; h.e.refs == 0 {
		delete(h.l.m, h.name)
	}
	h.l.mu.Unlock()
}

// lockName serialises the changes of one file name.
func (s *Server) lockName(name string) heldName { return s.names.lock(name) }

// lockTwoNames takes the locks of two names in a fixed order (once if they
// are the same name) and returns the unlock function.
func (s *Server) lockTwoNames(a, b string) func() {
	if a == b {
		return s.lockName(a).Unlock
	}
	if a > b {
		a, b = b, a
	}
	first, second := s.lockName(a), s.lockName(b)
	return func() {
		second.Unlock()
		first.Unlock()
	}
}
