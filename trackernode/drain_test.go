package trackernode

import (
	"errors"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// A drained storage takes no uploads, its files are read and changed on a
// peer once the peer has them, and it is reported drained only when every
// peer has all it wrote; undraining puts it back.
func TestDrain(t *testing.T) {
	const a, b = "10.0.0.1", "10.0.0.2"
	s := cluster(t, nil, node{group: "g1", ip: a}, node{group: "g1", ip: b})
	g := s.groups["g1"]
	sa, sb := g.storages[a], g.storages[b]
	drain := func(op byte) byte {
		t.Helper()
		reply, err := s.serverDrainStorage((&protocol.DrainRequest{Group: "g1", Op: op, Storage: a}).Encode())
		if err != nil || len(reply) != 1 {
			t.Fatalf("drain op %d: %v, %v", op, reply, err)
		}
		return reply[0]
	}
	fetch := func(cmd byte, name string) []string {
		t.Helper()
		body := (&protocol.FileQuery{Group: "g1", Filename: name}).Encode()
		reply, err := s.queryFetch(cmd, body)
		if err != nil {
			t.Fatal(err)
		}
		if cmd == protocol.CmdQueryFetchAll {
			r, err := protocol.DecodeFetchAllReply(reply)
			if err != nil {
				t.Fatal(err)
			}
			var ips []string
			for _, sv := range r.Servers {
				ips = append(ips, sv.IP)
			}
			return ips
		}
		r, err := protocol.DecodeFetchReply(reply)
		if err != nil {
			t.Fatal(err)
		}
		return []string{r.IP}
	}

	if st := drain(protocol.DrainStart); st != protocol.DrainOngoing {
		t.Fatalf("state after drain: %d", st)
	}
	for range 3 {
		if r, err := storeOne(t, s, "g1"); err != nil || r.IP != b {
			t.Fatalf("upload while %s drains went to %+v, %v", a, r, err)
		}
	}
	file := fileName(t, a, now.Unix()-10, false)
	sb.syncedFrom[a] = now.Unix() - 20 // b has not got it yet
	for _, cmd := range []byte{protocol.CmdQueryFetchOne, protocol.CmdQueryUpdate} {
		if got := fetch(cmd, file); got[0] != a {
			t.Fatalf("cmd %d before b has the file: %v", cmd, got)
		}
	}
	sb.syncedFrom[a] = now.Unix() - 5 // now it has
	for _, cmd := range []byte{protocol.CmdQueryFetchOne, protocol.CmdQueryUpdate, protocol.CmdQueryFetchAll} {
		if got := fetch(cmd, file); len(got) != 1 || got[0] != b {
			t.Fatalf("cmd %d once b has the file: %v", cmd, got)
		}
	}
	if got := fetch(protocol.CmdQueryFetchOne, fileName(t, a, now.Unix()-10, true)); got[0] != a {
		t.Fatalf("appender file read from %v, want its source", got)
	}

	// Drained: a beat after the drain began, the last update settled and
	// b past it.
	sa.stat.LastHeartBeatTime = sa.drainSince + 1
	sa.stat.LastSourceUpdate = now.Unix() - drainSettle
	sb.syncedFrom[a] = sa.stat.LastSourceUpdate - 1
	if st := drain(protocol.DrainQuery); st != protocol.DrainOngoing {
		t.Fatalf("state with b behind: %d", st)
	}
	sb.syncedFrom[a] = sa.stat.LastSourceUpdate
	if st := drain(protocol.DrainQuery); st != protocol.DrainComplete {
		t.Fatalf("state with b caught up: %d", st)
	}

	if st := drain(protocol.DrainStop); st != protocol.DrainNone {
		t.Fatalf("state after undrain: %d", st)
	}
	seen := map[string]bool{}
	for range 2 {
		r, err := storeOne(t, s, "g1")
		if err != nil {
			t.Fatal(err)
		}
		seen[r.IP] = true
	}
	if !seen[a] {
		t.Fatalf("no upload went back to %s after the undrain: %v", a, seen)
	}

	for _, tc := range []struct {
		name string
		body []byte
		want error
	}{
		{"unknown group", (&protocol.DrainRequest{Group: "g9", Op: protocol.DrainStart, Storage: a}).Encode(), protocol.ErrNotFound},
		{"unknown storage", (&protocol.DrainRequest{Group: "g1", Op: protocol.DrainStart, Storage: "10.9.9.9"}).Encode(), protocol.ErrNotFound},
		{"bad op", (&protocol.DrainRequest{Group: "g1", Op: 9, Storage: a}).Encode(), protocol.ErrInvalid},
		{"short body", []byte("g1"), protocol.ErrInvalid},
	} {
		if _, err := s.serverDrainStorage(tc.body); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
