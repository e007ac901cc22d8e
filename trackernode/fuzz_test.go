package trackernode

import (
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// FuzzDataFiles: whatever the data files hold (written by upstream's
// tracker, by ours, or damaged), loading them refuses them with an error
// or gives a map every query can be answered from: no panic in the load,
// in the queries a client or a storage sends next, nor in the next save.
func FuzzDataFiles(f *testing.F) {
	seed := cluster(f, nil,
		node{group: "group1", ip: "127.0.0.1", paths: []int64{500, 600}},
		node{group: "group1", ip: "127.0.0.2", status: protocol.StatusWaitSync},
		node{group: "group2", ip: "127.0.0.3", paths: []int64{0}})
	for _, st := range seed.groups["group1"].storages {
		st.stat.LastHeartBeatTime = now.Unix() - 1
	}
	files := seed.render()
	f.Add(files[0].data, files[1].data, files[2].data)
	f.Add([]byte("[Group001]\ngroup_name=g\nstore_path_count=0\nsubdir_count_per_path=0\n"),
		[]byte("[Storage001]\ngroup_name=g\nip_addr=1.2.3.4\nstatus=7\nstore_path_count=-1\nstorage_port=-5\nlast_heart_beat_time=1799999999\n"),
		[]byte("g,1.2.3.4,x,5\n"))
	fid := protocol.EncodeGroup("group1")
	fid = append(fid, "M00/00/00/fwAAAWsVfRKAUTOCAAAUACD2_hw5833449.jpg"...)
	queries := []struct {
		cmd  byte
		body []byte
	}{
		{protocol.CmdQueryStoreWithoutGroupOne, nil},
		{protocol.CmdQueryStoreWithoutGroupAll, nil},
		{protocol.CmdQueryStoreWithGroupOne, protocol.EncodeGroup("group1")},
		{protocol.CmdQueryStoreWithGroupAll, protocol.EncodeGroup("g")},
		{protocol.CmdQueryFetchOne, fid},
		{protocol.CmdQueryFetchAll, fid},
		{protocol.CmdQueryUpdate, fid},
		{protocol.CmdServerListAllGroups, nil},
		{protocol.CmdServerListOneGroup, protocol.EncodeGroup("group1")},
		{protocol.CmdServerListStorage, protocol.EncodeGroup("group1")},
		{protocol.CmdServerStorageClusterStat, nil},
		{protocol.CmdServerStorageVolumeStat, nil},
	}
	f.Fuzz(func(t *testing.T, groups, servers, sync []byte) {
		s := cluster(t, nil)
		s.now = func() time.Time { return now }
		s.mu.Lock()
		err := s.loadGroups(groups)
		if err == nil {
			err = s.loadStorages(servers)
		}
		if err == nil {
			for _, g := range s.groups {
				g.resort()
				g.changed()
			}
			s.loadSyncTimestamps(sync)
		}
		s.mu.Unlock()
		if err != nil {
			return
		}
		for _, q := range queries {
			s.answer(q.cmd, q.body)
		}
		s.mu.Lock()
		s.render()
		s.mu.Unlock()
	})
}
