package faults

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

// Leader kill figures.
const (
	leaderKills        = 6
	leaderDownTime     = 300 * time.Millisecond
	leaderUploaders    = 6
	leaderAcksPerPhase = 40 // uploads acknowledged with the new leader
)

// leaderOf asks every running tracker of c for the leader
// (SERVER_GET_LEADER) and returns the index of the one they all name, or
// an error while they disagree or name one that is not running.
func (c *cluster) leaderOf() (int, error) {
	var named string
	for i, p := range c.trackers {
		if !p.running() {
			continue
		}
		st, b, err := rawCmd(p.addr, protocol.CmdServerGetLeader, nil, 1<<10)
		if err != nil || st != 0 {
			return -1, fmt.Errorf("tracker %d: status %d, %v", i, st, err)
		}
		if named != "" && string(b) != named {
			return -1, fmt.Errorf("tracker %d names %s, another %s", i, b, named)
		}
		named = string(b)
	}
	for i, p := range c.trackers {
		if p.addr == named && p.running() {
			return i, nil
		}
	}
	return -1, fmt.Errorf("the leader named, %q, is not running", named)
}

func (c *cluster) waitLeader(t *testing.T) int {
	t.Helper()
	leader := -1
	testwait.For(t, waitLimit, "one running leader all trackers agree on", func() (err error) {
		leader, err = c.leaderOf()
		return err
	})
	return leader
}

// rawCmd sends one request to addr and returns the reply's status and body
// (at most max bytes).
func rawCmd(addr string, cmd byte, body []byte, max int64) (byte, []byte, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(opTimeout))
	if err := protocol.WritePacket(c, cmd, 0, body); err != nil {
		return 0, nil, err
	}
	h, err := protocol.ReadHeader(c)
	if err != nil {
		return 0, nil, err
	}
	b, err := protocol.ReadBody(c, h, max)
	return h.Status, b, err
}

// TestTrackerLeaderKill9: three trackers and two storages of group1; 6
// clients (each configured with the three trackers) upload 1–64 KB files
// over and over. 6 times, the leader is killed with SIGKILL: the two
// others must agree on a new leader and uploads must go on being
// acknowledged; then the old leader is restarted 300 ms after its death
// and must follow the new one. Then every acknowledged upload must be
// served with its exact bytes by both storages.
func TestTrackerLeaderKill9(t *testing.T) {
	needBinary(t)
	c := startTopology(t, storageConf, []string{"127.0.0.190", "127.0.0.191", "127.0.0.192"},
		map[string][]string{group: {"127.0.0.193", "127.0.0.194"}})

	var (
		acked uploads
		small counters
		stop  = make(chan struct{})
		wg    sync.WaitGroup
		seeds atomic.Uint64
	)
	uploadSmall(&wg, stop, leaderUploaders, 4, c.client, &seeds, &small, &acked)
	stopAll := stopper(stop, &wg)
	defer stopAll()

	var elected []time.Duration
	killed := make([]int, len(c.trackers))
	for range leaderKills {
		leader := c.waitLeader(t)
		small.waitMore(t, leaderAcksPerPhase, "uploads acknowledged")
		c.trackers[leader].kill()
		killed[leader]++
		start := time.Now()
		next := c.waitLeader(t)
		elected = append(elected, time.Since(start).Round(10*time.Millisecond))
		if next == leader {
			t.Fatalf("tracker %d still named leader after its death", leader)
		}
		small.waitMore(t, leaderAcksPerPhase, "uploads acknowledged with the new leader")
		if d := time.Until(start.Add(leaderDownTime)); d > 0 {
			time.Sleep(d)
		}
		c.trackers[leader].start()
		if got := c.waitLeader(t); got != next {
			t.Fatalf("leader %d after the old leader's restart, want %d (it must follow)", got, next)
		}
		c.waitActive(t)
	}
	small.waitMore(t, leaderAcksPerPhase, "uploads acknowledged after the last restart")
	stopAll()

	want := map[string]func() []byte{}
	for _, u := range acked.l {
		want[u.id] = func() []byte { return content(u.seed, u.size) }
	}
	lost, corrupt := c.verify(t, want)
	sa, sr := small.get()
	t.Logf("tracker leader kill -9: %d kills of the leader among 3 trackers (per tracker %v); a new leader agreed on after %v", leaderKills, killed, elected)
	t.Logf("uploads (1-64 KB, %d clients): %d acknowledged, %d failed-but-retried", leaderUploaders, sa, sr)
	t.Logf("checked on each of %d storages: %d files; lost %d, corrupt %d", len(c.storages), len(want), lost, corrupt)
}
