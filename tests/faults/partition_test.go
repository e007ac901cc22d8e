package faults

import (
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

// netFault is one fault of a network test: applied under load, held,
// then lifted.
type netFault struct {
	name  string
	apply func(nc *netCluster)
	// offline: the tracker must list storage 0 OFFLINE before the fault
	// is lifted (waited for, bounded by waitLimit).
	offline bool
}

// faultHold is how long a fault lasts: over twice network_timeout. An end
// that keeps to its timeout closes a held connection within
// network_timeout, so one still held when the fault is lifted has waited
// less than that; one held for faultHold − network_timeout or more had an
// end that waits past its timeout.
const faultHold = (2*netNetworkTimeout + 1) * time.Second

// runFaults applies each fault in turn under the load, then lifts it and
// checks: no connection was held by it for as long as the fault lasted (an
// end that never gave up), the tracker lists both storages ACTIVE again,
// and every file acknowledged since the fault began reaches both storages
// with its bytes.
func runFaults(t *testing.T, nc *netCluster, load *netLoad, faults []netFault) {
	t.Helper()
	// Replication must be flowing both ways first: a storage learns that
	// its peer turned ACTIVE from its tracker, and does not sync to it
	// before (a fault on its tracker link in the first second would hold
	// its sync for as long as the fault lasts).
	time.Sleep(time.Second)
	nc.waitReplicated(t, load.since(time.Time{}))
	for _, f := range faults {
		ps := load.phase(f.name)
		nc.daemonStall() // reset
		stopWatch := nc.watchStatus(load, ps)
		began := time.Now()
		f.apply(nc)
		if f.offline {
			nc.waitStatus(t, 0, protocol.StatusOffline)
			ps.toOffline = time.Since(began)
		}
		time.Sleep(time.Until(began.Add(faultHold)))
		ps.backlog = nc.missing(load.since(began))
		ps.held = time.Since(began)
		nc.heal()
		ps.daemonStall, ps.outlived = nc.daemonStall()
		healed := time.Now()
		for i := range 2 {
			nc.waitStatus(t, i, protocol.StatusActive)
		}
		ps.toActive = time.Since(healed)
		nc.waitReplicated(t, load.since(began))
		ps.caughtUp = time.Since(healed)
		stopWatch()
		if ps.outlived >= ps.held-netNetworkTimeout*time.Second || ps.daemonStall >= ps.held {
			t.Errorf("%s: a connection was held %v (until closed) / %v (until healed) of the %v the fault lasted: an end waited past its timeout",
				f.name, ps.daemonStall, ps.outlived, ps.held)
		}
	}
}

// checkReads logs what the load saw in each phase and fails the test for
// reads the tracker routed to a replica lacking the file (beyond what a
// source OFFLINE at the tracker explains) or that returned other bytes.
func checkReads(t *testing.T, load *netLoad) {
	t.Helper()
	for _, ps := range load.phases {
		t.Log(ps)
		if ps.readMissing > 0 || ps.readWrong > 0 {
			t.Errorf("%s: %d reads routed by the tracker got ENOENT for a file acknowledged ≥ %v before, %d got other bytes",
				ps.name, ps.readMissing, readAge, ps.readWrong)
		}
		if ps.readMissingYoung > 0 && !ps.statuses[protocol.StorageStatusName(protocol.StatusOffline)] {
			t.Errorf("%s: %d reads routed by the tracker got ENOENT for a file acknowledged < %v before, with its source ACTIVE throughout",
				ps.name, ps.readMissingYoung, readAge)
		}
	}
}

// watchStatus records storage 0's statuses, as the tracker lists them,
// into ps until the returned func is called.
func (nc *netCluster) watchStatus(load *netLoad, ps *phaseStats) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			st, err := nc.status(0)
			name := protocol.StorageStatusName(st)
			if err != nil {
				name = "tracker error"
			}
			load.mu.Lock()
			ps.statuses[name] = true
			load.mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// finish stops the load and checks the end state: both storages ACTIVE,
// every acknowledged file on both, byte for byte, and each daemon's open
// descriptors back near where they were before the faults.
func (nc *netCluster) finish(t *testing.T, load *netLoad, fdsBefore [3]int) {
	t.Helper()
	load.stopAll()
	checkReads(t, load)
	want := map[string]func() []byte{}
	for _, f := range load.since(time.Time{}) {
		want[f.id] = func() []byte { return content(f.seed, f.size) }
	}
	lost, corrupt := nc.verify(t, want)
	t.Logf("files checked on each storage: %d, lost %d, corrupt %d", len(want), lost, corrupt)
	for i := range 2 {
		nc.waitStatus(t, i, protocol.StatusActive)
	}
	// Faulted connections are closed by their ends within their timeouts;
	// pooled and sync connections come back to the same few.
	for i, name := range []string{"storage 0", "storage 1", "tracker"} {
		testwait.For(t, waitLimit, fmt.Sprintf("%s's descriptors back to ≤ %d+16", name, fdsBefore[i]), func() error {
			if n := nc.fds(i); n > fdsBefore[i]+16 {
				return fmt.Errorf("%d open", n)
			}
			return nil
		})
		t.Logf("%s open descriptors: %d before the faults, %d after", name, fdsBefore[i], nc.fds(i))
	}
}

// TestNetPartitions cuts, one by one, storage 0's link to the tracker and
// its links with its peer, both ways and one way, under uploads to both
// storages and reads routed by the tracker.
func TestNetPartitions(t *testing.T) {
	needBinary(t)
	a := netAddrs{
		tracker: "127.0.0.170", tlinkPort: [2]int{22122, 22124}, storagePort: 23000,
		bind:   [2]string{"127.0.0.171", "127.0.0.172"},
		public: [2]string{"127.0.0.173", "127.0.0.174"},
	}
	nc := startNetCluster(t, a)
	fds := [3]int{nc.fds(0), nc.fds(1), nc.fds(2)}
	load := startNetLoad(nc.client, 4, 2)
	fromA, fromB := a.bind[0], a.bind[1]
	runFaults(t, nc, load, []netFault{
		// Packets dropped: held connections, connects that time out.
		{"A-tracker cut", func(nc *netCluster) {
			nc.tlink[0].set("", fault{up: flowFault{blocked: true}, down: flowFault{blocked: true}})
			if err := nc.tlink[0].dropSYN(); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"A-tracker beats lost", func(nc *netCluster) {
			nc.tlink[0].set("", fault{up: flowFault{blocked: true}})
		}, true},
		{"A-tracker answers lost", func(nc *netCluster) {
			nc.tlink[0].set("", fault{down: flowFault{blocked: true}})
		}, false},
		{"A-B cut", func(nc *netCluster) {
			nc.peer[1].set(fromA, partitioned)
			nc.peer[0].set(fromB, partitioned)
		}, false},
		{"A to B cut (B to A open)", func(nc *netCluster) { nc.peer[1].set(fromA, partitioned) }, false},
		{"A to B answers lost", func(nc *netCluster) {
			nc.peer[1].set(fromA, fault{down: flowFault{blocked: true}})
		}, false},
	})
	nc.finish(t, load, fds)
	b, _ := os.ReadFile(nc.storages[0].logPath)
	t.Logf("storage 0's connects that timed out (connect_timeout %d s): %d", netConnectTimeout,
		len(regexp.MustCompile(`connect to [^"]*i/o timeout`).FindAll(b, -1)))
}

// TestNetSlowAndStuckPeers makes storage 1 slow, then stuck, for storage
// 0's sync, and storage 0 stuck for clients, under the same load.
func TestNetSlowAndStuckPeers(t *testing.T) {
	needBinary(t)
	a := netAddrs{
		tracker: "127.0.0.170", tlinkPort: [2]int{22123, 22125}, storagePort: 23001,
		bind:   [2]string{"127.0.0.171", "127.0.0.172"},
		public: [2]string{"127.0.0.173", "127.0.0.174"},
	}
	nc := startNetCluster(t, a)
	fds := [3]int{nc.fds(0), nc.fds(1), nc.fds(2)}
	load := startNetLoad(nc.client, 4, 2)
	fromA, fromB := a.bind[0], a.bind[1]
	slow := flowFault{delay: 50 * time.Millisecond, rate: 128 << 10}
	hung := fault{up: flowFault{blocked: true}, down: flowFault{blocked: true}, hang: true}
	half := fault{down: flowFault{stallAfter: protocol.HeaderSize / 2}}
	runFaults(t, nc, load, []netFault{
		{"A-B slow (100 ms RTT, 128 KB/s)", func(nc *netCluster) {
			nc.peer[1].set(fromA, fault{up: slow, down: slow})
			nc.peer[0].set(fromB, fault{up: slow, down: slow})
		}, false},
		{"B hangs for A", func(nc *netCluster) { nc.peer[1].set(fromA, hung) }, false},
		{"B answers A half", func(nc *netCluster) { nc.peer[1].set(fromA, half) }, false},
		// B's sync to A stays as it is (its own rule): only clients see
		// A stuck.
		{"A hangs for clients", func(nc *netCluster) {
			nc.peer[0].set(fromB, fault{})
			nc.peer[0].set("", hung)
		}, false},
		{"A answers clients half", func(nc *netCluster) {
			nc.peer[0].set(fromB, fault{})
			nc.peer[0].set("", half)
		}, false},
	})
	nc.finish(t, load, fds)
}
