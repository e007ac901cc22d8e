package multitracker

import (
	"fmt"
	"testing"

	"github.com/fdfsgo/fdfs/devcluster"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/tests/internal/fdfsproc"
)

// A storage that comes back with another address reports the change to
// every tracker, each of which keeps its own map: all of them list it at
// the new address, and the old one as IP_CHANGED (upstream's tombstone).
func TestAddressChangeOnEveryTracker(t *testing.T) {
	e := setup(t, 2)
	e.waitLeader(all(2))
	e.waitActive(0)
	e.waitActive(1)
	moved := e.c.Storages[1]
	old := moved.IP
	if err := e.c.StopStorage(moved.Index); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		poll(t, fmt.Sprintf("%s offline on tracker %d", old, i), func() error {
			if st := statusOn(t, e.addr(i), old); st != protocol.StatusOffline {
				return fmt.Errorf("%s", protocol.StorageStatusName(st))
			}
			return nil
		})
	}
	newIP, err := devcluster.FreeIP(moved.Port)
	if err != nil {
		t.Fatal(err)
	}
	fdfsproc.SetKey(t, moved.ConfPath, "bind_addr", newIP)
	moved.IP, moved.ID = newIP, newIP
	if err := e.c.StartStorage(moved.Index); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		e.waitActive(i) // both listed ACTIVE, and no third
		if st := statusOn(t, e.addr(i), newIP); st != protocol.StatusActive {
			t.Fatalf("tracker %d: %s is %s", i, newIP, protocol.StorageStatusName(st))
		}
		if st := statusOn(t, e.addr(i), old); st != protocol.StatusIPChanged {
			t.Fatalf("tracker %d: the old address %s is %s, want IP_CHANGED", i, old, protocol.StorageStatusName(st))
		}
	}
}

// statusOn is the status tracker addr lists storage id of group1 with
// (StatusNone when it does not list it).
func statusOn(t *testing.T, addr, id string) byte {
	t.Helper()
	b, err := call(addr, protocol.CmdServerListStorage, protocol.EncodeGroup("group1"))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := protocol.DecodeStorageStats(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		if s.ID == id {
			return s.Status
		}
	}
	return protocol.StatusNone
}

// A storage back with another address reports the change before it joins.
// A tracker that still sees the old address serving (EBUSY) is asked
// again rather than joined as a new storage (upstream's storage would
// join); one that does not know the old address (ENOENT) is joined at
// once. The report is made once per tracker and run.
func TestAddressChangeReport(t *testing.T) {
	for _, tc := range []struct {
		name     string
		statuses []byte
	}{
		{"accepted", nil},
		{"busy twice, then accepted", []byte{protocol.EBUSY, protocol.EBUSY}},
		{"unknown old address", []byte{protocol.ENOENT}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := startScriptedTracker(t, "", 0)
			dir := t.TempDir()
			oldIP, newIP := freeStorageIP(t), freeStorageIP(t)
			s := startStorageAt(t, dir, oldIP, tr.addr())
			poll(t, "the first join", func() error {
				if len(tr.log()) == 0 {
					return fmt.Errorf("none yet")
				}
				return nil
			})
			s.Close()
			tr.mu.Lock()
			tr.ipChanged, tr.events = tc.statuses, nil
			tr.mu.Unlock()
			startStorageAt(t, dir, newIP, tr.addr())
			var want []string
			for _, st := range append(tc.statuses, 0) {
				want = append(want, fmt.Sprintf("report %s->%s: %d", oldIP, newIP, st))
				if st != protocol.EBUSY {
					break
				}
			}
			want = append(want, "join from "+newIP)
			poll(t, "the reports, then the join", func() error {
				if got := tr.log(); len(got) < len(want) || fmt.Sprint(got[:len(want)]) != fmt.Sprint(want) {
					return fmt.Errorf("%q, want %q first", got, want)
				}
				return nil
			})
		})
	}
}

func (tr *scriptedTracker) log() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.events...)
}
