package storagenode

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// A held name never blocks another name (stripes did, for 1 name pair in
// 64), one name is exclusive, and the table forgets names nobody holds.
func TestNameLocks(t *testing.T) {
	var l nameLocks
	held := l.lock("group1/M00/00/00/a")
	for i := range 1000 {
		done := make(chan struct{})
		go func() {
			l.lock(fmt.Sprintf("group1/M00/00/00/b%d", i)).Unlock()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("name %d waited for an unrelated held name", i)
		}
	}
	got := make(chan struct{})
	go func() {
		l.lock("group1/M00/00/00/a").Unlock()
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("a held name was taken twice")
	case <-time.After(50 * time.Millisecond):
	}
	held.Unlock()
	<-got
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { l.lock("group1/M00/00/00/c").Unlock() })
	}
	wg.Wait()
	if n := len(l.m); n != 0 {
		t.Fatalf("%d names left in the table, want 0", n)
	}
}
