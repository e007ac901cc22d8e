package ctools

import (
	"fmt"
	"io"
	"strings"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// statMain is the frame of fdfs_tracker_stat, fdfs_storage_stat and
// fdfs_volumn_stat: options (-h usage, -c conf, the filter letters), the
// conf, a tracker, then one query printed by run. They exit 0 once
// connected, whatever the query's result.
func statMain(e *env, spec, usage string, filter func(c byte), run func(s *session)) int {
	printUsage := func() {
		p := e.argv[0]
		fmt.Fprintf(e.errw, usage, p, defaultClientConf, p, p)
	}
	opts, _, ok := e.getopt(spec)
	if !ok {
		printUsage()
		return exitUsage
	}
	confPath := defaultClientConf
	for _, o := range opts {
		switch o.c {
		case 'h':
			printUsage()
			return 0
		case 'c':
			confPath = o.val
		default:
			filter(o.c)
		}
	}
	s, rc := e.start(confPath)
	if rc != 0 {
		return rc
	}
	defer s.close()
	run(s)
	return 0
}

// trackerStat is fdfs_tracker_stat [-c CONF] [-A|-N] [-L|-F] [-d].
func trackerStat(e *env) int {
	var f protocol.TrackerClusterFilter
	detail := false
	return statMain(e, "hc:ANLFd", "Usage: %s [-c config_filename=%s]\n"+
		"\t[-A] list ACTIVE trackers\n"+
		"\t[-N] list None ACTIVE trackers\n"+
		"\t[-L] list leader tracker\n"+
		"\t[-F] list follower trackers\n"+
		"\t[-d] show detail / more info\n\n"+
		"For example:\n\t%s -A\n\t%s -N\n\n",
		func(c byte) {
			switch c {
			case 'A', 'N':
				f.FilterBy |= protocol.TrackerFilterActive
				f.IsActive = boolByte(c == 'A')
			case 'L', 'F':
				f.FilterBy |= protocol.TrackerFilterLeader
				f.IsLeader = boolByte(c == 'L')
			case 'd':
				detail = true
			}
		},
		func(s *session) {
			ts, err := s.cl.TrackerClusterStat(s.e.ctx, f)
			if err != nil || len(ts) == 0 {
				return
			}
			w := s.e.out
			fmt.Fprintln(w)
			for _, t := range ts {
				fmt.Fprintf(w, "%s, is_leader: %d, is_active: %d, connections {alloc: %d, current: %d, max: %d}\n",
					t.Host, boolInt(t.IsLeader), boolInt(t.IsActive), t.AllocCount, t.CurrentCount, t.MaxCount)
				if !detail {
					continue
				}
				fmt.Fprintf(w, "  version: %s, up_time: %s", t.Version, datetime(t.UpTime))
				if t.IsLeader {
					fmt.Fprint(w, "\n\n")
				} else {
					fmt.Fprintf(w, ", last_heartbeat_time: %s\n\n", datetime(t.LastHeartbeat))
				}
			}
			fmt.Fprintf(w, "\ntracker server count: %d\n\n", len(ts))
		})
}

// storageStat is fdfs_storage_stat [-c CONF] [-A|-N] [-T|-t] [-d].
func storageStat(e *env) int {
	var f protocol.StorageClusterFilter
	detail := false
	return statMain(e, "hc:ANTtd", "Usage: %s [-c config_filename=%s]\n"+
		"\t[-A] list ACTIVE storages\n"+
		"\t[-N] list None ACTIVE storages\n"+
		"\t[-d] show detail / more info\n"+
		"\nWhen use_trunk_file is true, including options:\n"+
		"\t[-T] list trunk servers / storages\n"+
		"\t[-t] list None trunk servers / storages\n\n"+
		"For example:\n\t%s -A\n\t%s -N\n\n",
		func(c byte) {
			switch c {
			case 'A', 'N':
				f.FilterBy |= protocol.StorageFilterStatus
				f.Status = protocol.StatusActive
				f.OpType = protocol.StorageFilterOpNotEqual
				if c == 'A' {
					f.OpType = protocol.StorageFilterOpEqual
				}
			case 'T', 't':
				f.FilterBy |= protocol.StorageFilterTrunkServer
				f.IsTrunkServer = boolByte(c == 'T')
			case 'd':
				detail = true
			}
		},
		func(s *session) {
			st, err := s.cl.StorageClusterStat(s.e.ctx, f)
			if err != nil || len(st.Storages) == 0 {
				return
			}
			w := s.e.out
			fmt.Fprintln(w)
			for _, t := range st.Storages {
				if st.UseStorageID {
					fmt.Fprintf(w, "%s ", t.ID)
				}
				fmt.Fprintf(w, "%s %s, ", t.Host, statusCaption(t.Status))
				if st.UseTrunkFile {
					fmt.Fprintf(w, "is_trunk_server: %d, ", boolInt(t.IsTrunkServer))
				}
				fmt.Fprintf(w, "connections {alloc: %d, current: %d, max: %d}\n", t.AllocCount, t.CurrentCount, t.MaxCount)
				if detail {
					fmt.Fprintf(w, "  version: %s, up_time: %s, last_heartbeat_time: %s\n\n",
						t.Version, datetime(t.UpTime), datetime(t.LastHeartbeat))
				}
			}
			fmt.Fprintf(w, "\nstorage server count: %d\n\n", len(st.Storages))
		})
}

// volumeStat is fdfs_volumn_stat [-c CONF] [-A|-N|-F] [-D|-d] [-T|-t].
func volumeStat(e *env) int {
	var f protocol.VolumeFilter
	return statMain(e, "hc:ANFDdTt", "Usage: %s [-c config_filename=%s]\n"+
		"\t[-A] list space available groups / volumns\n"+
		"\t[-N | -F] list None space available groups / volumns\n"+
		"\t[-D] list disk space available groups / volumns\n"+
		"\t[-d] list None disk space available groups / volumns\n"+
		"\nWhen use_trunk_file is true, including options:\n"+
		"\t[-T] list trunk space available groups / volumns\n"+
		"\t[-t] list None trunk space available groups / volumns\n\n"+
		"Note: space available when disk space available or trunk space available\n\n"+
		"For example:\n\t%s -A\n\t%s -N\n\n",
		func(c byte) {
			switch c {
			case 'A', 'N', 'F':
				f.FilterBy |= protocol.VolumeFilterSpace
				f.IsSpaceAvailable = boolByte(c == 'A')
			case 'D', 'd':
				f.FilterBy |= protocol.VolumeFilterDisk
				f.IsDiskAvailable = boolByte(c == 'D')
			case 'T', 't':
				f.FilterBy |= protocol.VolumeFilterTrunk
				f.IsTrunkAvailable = boolByte(c == 'T')
			}
		},
		func(s *session) {
			v, err := s.cl.VolumeStat(s.e.ctx, f)
			if err != nil || len(v.Groups) == 0 {
				return
			}
			printVolumes(s.e, v)
		})
}

// printVolumes is fdfs_volumn_stat's output: one line per group and, for
// more than one, their sum.
func printVolumes(e *env, v *protocol.VolumeStat) {
	w := e.out
	fmt.Fprintln(w)
	var sum protocol.VolumeEntry
	avail := 0
	for _, g := range v.Groups {
		sum.TotalMB += g.TotalMB
		sum.FreeMB += g.FreeMB
		sum.ReservedMB += g.ReservedMB
		sum.AvailMB += g.AvailMB
		sum.TrunkFreeMB += g.TrunkFreeMB
		sum.IsDiskAvailable = sum.IsDiskAvailable || g.IsDiskAvailable
		sum.IsTrunkAvailable = sum.IsTrunkAvailable || g.IsTrunkAvailable
		if g.IsDiskAvailable || g.IsTrunkAvailable {
			avail++
		}
		volumeLine(w, &g, v.UseTrunkFile)
	}
	if len(v.Groups) <= 1 {
		fmt.Fprintf(w, "storage volumn / group count: %d\n\n", len(v.Groups))
		return
	}
	bar := strings.Repeat("=", 32)
	fmt.Fprintf(w, "%s VOLUMNS SUMMARY %s\n", bar, bar)
	volumeLine(w, &sum, v.UseTrunkFile)
	fmt.Fprintf(w, "volumn / group counts {total: %d, available: %d}\n\n", len(v.Groups), avail)
}

// volumeLine is fdfs_volumn_stat's group_output.
func volumeLine(w io.Writer, g *protocol.VolumeEntry, trunk bool) {
	fmt.Fprintf(w, "%s disk_available: %d", g.Group, boolInt(g.IsDiskAvailable))
	if trunk {
		fmt.Fprintf(w, ", trunk_available: %d", boolInt(g.IsTrunkAvailable))
	}
	total := g.TotalMB - g.ReservedMB
	util := 0.0
	if total > 0 {
		util = float64(total-g.AvailMB) / float64(total) * 100
	}
	fmt.Fprintf(w, ", disk space {total: %s, free: %s, reserved: %s, avail: %s, util: %.2f%%}",
		mbHuman(g.TotalMB), mbHuman(g.FreeMB), mbHuman(g.ReservedMB), mbHuman(g.AvailMB), util)
	if !trunk {
		fmt.Fprint(w, "\n\n")
		return
	}
	totalAvail := g.AvailMB + g.TrunkFreeMB
	ratio := 0.0
	if total > 0 {
		ratio = float64(totalAvail) / float64(total) * 100
	}
	fmt.Fprintf(w, ", trunk free space: %s, total available {space: %s, ratio: %.2f%%}\n\n",
		mbHuman(g.TrunkFreeMB), mbHuman(totalAvail), ratio)
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}
