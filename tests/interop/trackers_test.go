package interop

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const cmdServerGetLeader = 95 // TRACKER_PROTO_CMD_SERVER_GET_LEADER

// leaderOf asks a tracker which tracker is the leader ("ip:port").
func leaderOf(tr *node) (string, error) {
	status, body, err := rawCall(tr.addr(), cmdServerGetLeader, nil)
	if err != nil {
		return "", err
	}
	if status != 0 {
		return "", fmt.Errorf("get leader from %s: status %d", tr, status)
	}
	return strings.TrimRight(string(body), "\x00"), nil
}

// waitLeader waits until every running tracker of trackers names the same
// leader, one of them, and returns it.
func (e *env) waitLeader(trackers ...*node) *node {
	e.t.Helper()
	return e.waitLeaderWithin(waitLimit, trackers...)
}

// takeoverLimit bounds a follower's taking over from a stopped leader: an
// upstream follower sleeps 1-10 s after a round of "waiting for the
// candidate" and doubles that sleep on each failed ping, so it may need
// 60-70 s to notice a leader that stopped soon after the election.
const takeoverLimit = 2 * time.Minute

// waitLeaderWithin is waitLeader with its own time limit.
func (e *env) waitLeaderWithin(limit time.Duration, trackers ...*node) *node {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var answers []string
		var leader *node
		agree := true
		for _, tr := range trackers {
			l, err := leaderOf(tr)
			answers = append(answers, fmt.Sprintf("%s says %q (%v)", tr.name, l, err))
			var found *node
			for _, c := range trackers {
				if c.addr() == l {
					found = c
				}
			}
			if err != nil || found == nil || (leader != nil && found != leader) {
				agree = false
			}
			leader = found
		}
		if agree && leader != nil {
			return leader
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the trackers do not agree on a leader after %v: %s", limit, strings.Join(answers, "; "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// clientConfFor writes a client.conf naming only tr.
func (e *env) clientConfFor(tr *node) string {
	e.t.Helper()
	return e.writeClientConfAt(filepath.Join(e.dir, "client-"+tr.name+".conf"), tr)
}

// TestMixedTrackers runs our tracker and the upstream tracker side by side
// (every storage reports to both): they must agree on a leader, serve the
// same cluster, and survive the leader's restart (the other takes over;
// the restarted one rejoins as a follower).
//
// The upstream tracker does not bind its outgoing connections: on one
// machine they all come from 127.0.0.1, on separate hosts from the host's
// address. The upstream trackers run with bindshim (testdata/bindshim.c)
// so that they dial from their own address as on separate hosts. (Dialing
// from an address the storages do not list, as from a multi-homed or
// NATed host, is refused by our tracker: docs/compatibility.md.)
func TestMixedTrackers(t *testing.T) {
	for _, c := range []struct {
		name                  string
		first, second, s1, s2 impl
	}{
		{"upstreamOnly", upstream, upstream, upstream, upstream}, // the control
		{"oursOnly", ours, ours, ours, ours},
		{"oursStartsFirst", ours, upstream, upstream, ours},
		{"upstreamStartsFirst", upstream, ours, upstream, ours},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			trackers := e.addBoundTrackers(c.first, c.second)
			t1, t2 := trackers[0], trackers[1]
			s1 := e.addStorage(c.s1, "group1", trackers)
			s2 := e.addStorage(c.s2, "group1", trackers)
			sts := []*node{s1, s2}
			e.writeClientConf()
			confs := map[*node]string{t1: e.clientConfFor(t1), t2: e.clientConfFor(t2)}
			e.waitActiveOnAll(trackers, sts...)
			leader := e.waitLeader(t1, t2)
			t.Logf("leader: %s", leader)
			// Again: an upstream follower that has just found the leader
			// takes the storages' statuses from it and, for a moment,
			// answers QUERY_STORE with ENOENT (the control case, upstream
			// alone, failed on it).
			e.waitActiveOnAll(trackers, sts...)

			// Upload through one tracker, read through the other.
			roundTrip := func(seed uint64) {
				t.Helper()
				for i, tr := range trackers {
					if !tr.running() {
						continue
					}
					other := trackers[1-i]
					if !other.running() {
						other = tr
					}
					data := randBytes(seed+uint64(i), 50_000)
					e.clientConf = confs[tr]
					id := e.upload(e.writeLocal(fmt.Sprintf("mt%d-%d.bin", seed, i), data))
					e.waitOnDisk(id, data, sts...)
					e.clientConf = confs[other]
					e.expectDownload(id, data)
					e.expectFileInfo(id, "normal", data, sts)
				}
			}
			roundTrip(1)
			t.Logf("stopping the leader %s", leader)

			// The leader goes away: the other tracker takes over.
			if err := leader.stop(); err != nil {
				t.Fatalf("stop %s: %v", leader, err)
			}
			follower := t1
			if leader == t1 {
				follower = t2
			}
			if l := e.waitLeaderWithin(takeoverLimit, follower); l != follower {
				t.Fatalf("leader after stopping %s: %s", leader, l)
			}
			t.Logf("%s took over", follower)
			e.clientConf = confs[follower]
			e.waitActive(sts...)
			roundTrip(2)
			t.Logf("restarting %s", leader)

			// It comes back as a follower.
			leader.start()
			if l := e.waitLeader(t1, t2); l != follower {
				t.Errorf("leader after restarting %s: %s, want %s", leader, l, follower)
			}
			for _, tr := range trackers {
				e.clientConf = confs[tr]
				e.waitActive(sts...)
			}
			roundTrip(3)
		})
	}
}

// addBoundTrackers creates and starts a tracker of each impl, the
// upstream ones with the bind shim so that they dial from their own
// address (our tracker takes a peer tracker's commands only from there).
func (e *env) addBoundTrackers(impls ...impl) []*node {
	e.t.Helper()
	var trackers []*node
	for _, im := range impls {
		tr := e.newNode("tracker", im, trackerPort, nil)
		if im == upstream {
			tr.bindShim = bindShim(e.t)
		}
		tr.writeConf()
		tr.start()
		trackers = append(trackers, tr)
	}
	return trackers
}

// The bind shim is built once per test binary run with the C compiler.
var (
	shimOnce sync.Once
	shimPath string
	shimErr  error
)

func bindShim(t *testing.T) string {
	t.Helper()
	shimOnce.Do(func() {
		cc, err := exec.LookPath("cc")
		if err != nil {
			shimErr = err
			return
		}
		src, err := filepath.Abs(filepath.Join("testdata", "bindshim.c"))
		if err != nil {
			shimErr = err
			return
		}
		out := filepath.Join(tmpRoot, "bindshim.so")
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if b, err := exec.CommandContext(ctx, cc, "-shared", "-fPIC", "-o", out, src, "-ldl").CombinedOutput(); err != nil {
			shimErr = fmt.Errorf("%v\n%s", err, b)
			return
		}
		shimPath = out
	})
	if shimErr != nil {
		t.Skipf("needs a C compiler for testdata/bindshim.c: %v", shimErr)
	}
	return shimPath
}
