package multitracker

import (
	"errors"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// stranger is a client address that is neither a tracker nor a storage of
// the cluster (those take 127.x.y.z with x >= 1).
const stranger = "127.0.0.1"

// Trackers that bind their own loopback address dial each other from it,
// so they elect a leader although they answer the tracker-to-tracker
// commands only to each other (and two of them to storages): a stranger
// gets EPERM for every one and cannot move the leadership.
func TestPeerCommandsOnlyFromTrackers(t *testing.T) {
	e := setup(t, 2)
	leader := e.waitLeader(all(2))
	follower := others(2, leader)[0]
	for _, i := range all(2) {
		e.waitActive(i)
	}
	sysFile := make([]byte, 1+8) // index 0, offset 0
	for _, c := range []struct {
		name string
		cmd  byte
		body []byte
	}{
		{"JOIN_LEADER", protocol.CmdTrackerJoinLeader, make([]byte, 8+protocol.VersionSize+8)},
		{"GET_SYS_FILES_START", protocol.CmdTrackerGetSysFilesStart, nil},
		{"GET_SYS_FILES_END", protocol.CmdTrackerGetSysFilesEnd, nil},
		{"GET_ONE_SYS_FILE", protocol.CmdTrackerGetOneSysFile, sysFile},
		{"GET_STATUS", protocol.CmdTrackerGetStatus, nil},
		{"PING_LEADER", protocol.CmdTrackerPingLeader, make([]byte, 12)},
		{"NOTIFY_NEXT_LEADER", protocol.CmdTrackerNotifyNextLeader, leaderBody(e.addr(follower))},
		{"COMMIT_NEXT_LEADER", protocol.CmdTrackerCommitNextLeader, leaderBody(e.addr(follower))},
		{"NOTIFY_RESELECT_LEADER", protocol.CmdTrackerNotifyReselectLead, nil},
	} {
		for _, i := range []int{leader, follower} {
			if _, err := callFrom(stranger, e.addr(i), c.cmd, c.body); !errors.Is(err, protocol.ErrPermission) {
				t.Errorf("%s from a stranger to tracker %d: %v, want EPERM", c.name, i, err)
			}
		}
	}
	if got := e.waitLeader(all(2)); got != leader {
		t.Fatalf("leader %d after the stranger's commands, want %d", got, leader)
	}
	// A tracker still reads another's sys files.
	b, err := callFrom(e.ips[follower], e.addr(leader), protocol.CmdTrackerGetOneSysFile, sysFile)
	if err != nil || len(b) <= 8 {
		t.Fatalf("groups file from the leader to the follower: %d bytes, %v", len(b), err)
	}
}
