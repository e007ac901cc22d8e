package ctools

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// defaultClientConf is FDFS_CLIENT_DEFAULT_CONFIG_FILENAME.
const defaultClientConf = "/etc/fdfs/client.conf"

// defaultTrackerPort is FDFS_TRACKER_SERVER_DEF_PORT.
const defaultTrackerPort = 22122

func monitorUsage(e *env) {
	p := e.argv[0]
	fmt.Fprintf(e.out, "\nUsage:\n"+
		"  %s <client_cfg_file> [-h <tracker_server>]\n"+
		"  [list|delete|set_trunk_server <group_name> [storage_id]]\n\n"+
		"Note:\n"+
		"  the tracker server format: host[:port], the tracker default port is %d\n"+
		"  %s without parameter equals: %s %s\n\n",
		p, defaultTrackerPort, p, p, defaultClientConf)
}

// monitorArgs is the command line of fdfs_monitor.
type monitorArgs struct {
	conf, tracker, op string
	rest              []string // group name, storage id
}

// parseMonitorArgs parses as upstream's main: CONF [-h TRACKER | -hTRACKER]
// [OP [GROUP [STORAGE_ID]]]. done is set when the program must exit with
// rc at once.
func parseMonitorArgs(e *env) (m monitorArgs, rc int, done bool) {
	a := e.argv
	m.conf, m.op = defaultClientConf, "list"
	i := 1
	if len(a) > 1 {
		if len(a) == 2 && a[1] == "-h" {
			monitorUsage(e)
			return m, 0, true
		}
		m.conf, i = a[1], 2
	}
	if i < len(a) {
		if strings.HasPrefix(a[i], "-h") {
			if a[i] == "-h" {
				i++
				if i >= len(a) {
					monitorUsage(e)
					return m, exitUsage, true
				}
				m.tracker = a[i]
			} else {
				m.tracker = a[i][2:]
			}
			i++
		}
		if i < len(a) {
			m.op = a[i]
			i++
		}
	}
	m.rest = a[i:]
	return m, 0, false
}

// monitor is fdfs_monitor: the cluster as the tracker sees it, and the
// delete and set_trunk_server operations. Once connected it exits 0, as
// upstream, whatever the operation's result.
func monitor(e *env) int {
	m, rc, done := parseMonitorArgs(e)
	if done {
		return rc
	}
	s, rc := e.open(m.conf)
	if rc != 0 {
		return rc
	}
	defer s.close()
	idx := 0
	if m.tracker == "" {
		if len(s.c.TrackerServers) > 1 {
			idx = rand.IntN(len(s.c.TrackerServers))
		}
	} else if idx, rc = s.findTracker(m.tracker); rc != 0 {
		return rc
	}
	fmt.Fprintf(e.out, "tracker server count=%d, current server index=%d\n", len(s.c.TrackerServers), idx)
	if err := s.startAt(idx); err != nil {
		e.logError("%v", err)
		return code(err)
	}
	addr, rc := s.connectTrackerAddr()
	if rc != 0 {
		return rc
	}
	host, port, _ := net.SplitHostPort(addr)
	fmt.Fprintf(e.out, "\ntracker server is %s:%s\n\n", formatIP(host), port)
	var group string
	if len(m.rest) > 0 {
		group = m.rest[0]
	}
	switch m.op {
	case "list":
		s.listGroups(group)
	case "delete":
		s.monitorDelete(group, m.rest)
	case "set_trunk_server":
		if group == "" {
			monitorUsage(e)
			return exitUsage
		}
		s.setTrunkServer(group, m.rest)
	default:
		fmt.Fprintf(e.out, "Invalid command %s\n\n", m.op)
		monitorUsage(e)
	}
	return 0
}

// findTracker is the -h option: the index of the conf's tracker_server
// that host[:port] names, or exit status 2 when none does.
func (s *session) findTracker(hostPort string) (int, int) {
	want, err := resolveHostPort(hostPort, defaultTrackerPort)
	if err != nil {
		fmt.Fprintf(s.e.out, "resolve ip address of tracker server: %s fail!, error info: Unknown host\n", hostPort)
		return 0, int(protocol.EINVAL)
	}
	for i, t := range s.c.TrackerServers {
		addrs, err := client.ParseTrackerAddr(t)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if got, err := resolveHostPort(a, defaultTrackerPort); err == nil && got == want {
				return i, 0
			}
		}
	}
	fmt.Fprintf(s.e.out, "tracker server: %s not exists!\n", hostPort)
	return 0, int(protocol.ENOENT)
}

// resolveHostPort turns host[:port] into "ip:port".
func resolveHostPort(hostPort string, defPort int) (string, error) {
	host, port, ok := splitHostPort(hostPort)
	if !ok {
		port = strconv.Itoa(defPort)
	}
	ips, err := net.LookupHost(host)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(ips[0], port), nil
}

// startAt makes the client try the trackers from the conf's idx-th on, as
// upstream's tracker group with server_index set.
func (s *session) startAt(idx int) error {
	ts := s.c.TrackerServers
	rotated := append(append([]string(nil), ts[idx:]...), ts[:idx]...)
	cfg := client.ConfigFromConf(s.c)
	cfg.Trackers = rotated
	cl, err := client.New(cfg)
	if err != nil {
		return err
	}
	s.cl.Close()
	s.cl = cl
	return nil
}

func (s *session) monitorDelete(group string, rest []string) {
	w := s.e.out
	if len(rest) < 2 {
		if err := s.cl.DeleteGroup(s.e.ctx, group); err != nil {
			fmt.Fprintf(w, "delete group: %s fail, %s\n", group, failure(code(err)))
			return
		}
		fmt.Fprintf(w, "delete group: %s success\n", group)
		return
	}
	id := rest[1]
	if err := s.cl.DeleteStorage(s.e.ctx, group, id); err != nil {
		fmt.Fprintf(w, "delete storage server %s::%s fail, %s\n", group, id, failure(code(err)))
		return
	}
	fmt.Fprintf(w, "delete storage server %s::%s success\n", group, id)
}

func (s *session) setTrunkServer(group string, rest []string) {
	id := ""
	if len(rest) > 1 {
		id = rest[1]
	}
	got, err := s.cl.SetTrunkServer(s.e.ctx, group, id)
	if err != nil {
		fmt.Fprintf(s.e.out, "set trunk server %s::%s fail, %s\n", group, id, failure(code(err)))
		return
	}
	fmt.Fprintf(s.e.out, "set trunk server %s::%s success, new trunk server: %s\n", group, id, got)
}

// listGroups is list_all_groups: every group, or only the named one.
func (s *session) listGroups(group string) {
	l := lister{ctx: s.e.ctx, w: s.e.out, cl: s.cl, storagesFailed: func(g string, err error) {
		s.e.logError("list storages of group %s fail, %s", g, failure(code(err)))
	}}
	if err := l.groups(group); err != nil {
		s.e.logError("list groups fail, %s", failure(code(err)))
	}
}

// WriteGroups writes what `fdfs_monitor CONF list [GROUP]` prints after
// its tracker lines: the group count and each group's figures and
// storages. With group set, only that group's, without the count
// (ErrNotFound when there is none); with storageID set too, only that
// storage of it, which fdfs_monitor cannot. The first failure is
// returned; a group whose storages could not be listed is skipped, as
// fdfs_monitor skips it.
func WriteGroups(ctx context.Context, w io.Writer, cl *client.Client, group, storageID string) error {
	var failed error
	l := lister{ctx: ctx, w: w, cl: cl, storageID: storageID, storagesFailed: func(g string, err error) {
		if failed == nil {
			failed = fmt.Errorf("list storages of group %s: %w", g, err)
		}
	}}
	if err := l.groups(group); err != nil {
		return fmt.Errorf("list groups: %w", err)
	}
	if l.listed == 0 && group != "" {
		return fmt.Errorf("group %q: %w", group, protocol.ErrNotFound)
	}
	return failed
}

// lister prints fdfs_monitor's listing (list_all_groups, list_storages).
type lister struct {
	ctx context.Context
	w   io.Writer
	cl  *client.Client
	// storageID, when set, is the only storage listed.
	storageID string
	// storagesFailed is told a group whose storages could not be listed.
	storagesFailed func(group string, err error)
	listed         int // groups whose storages were asked for
}

// groups is list_all_groups; the error is that of listing the groups.
func (l *lister) groups(group string) error {
	groups, err := l.cl.ListGroups(l.ctx)
	if err != nil {
		return err
	}
	if group != "" {
		for i := range groups {
			if groups[i].Name == group {
				l.storages(&groups[i])
				break
			}
		}
		return nil
	}
	fmt.Fprintf(l.w, "group count: %d\n", len(groups))
	for i := range groups {
		fmt.Fprintf(l.w, "\nGroup %d:\n", i+1)
		l.storages(&groups[i])
	}
	return nil
}

// storages is list_storages: a group's figures and its storages'.
func (l *lister) storages(g *protocol.GroupStat) {
	l.listed++
	ss, err := l.cl.ListStorages(l.ctx, g.Name, l.storageID)
	if err != nil {
		l.storagesFailed(g.Name, err)
		return
	}
	w := l.w
	fmt.Fprintf(w, "group name = %s\n"+
		"disk total space     = %7s\n"+
		"disk free space      = %7s\n"+
		"disk reserved space  = %7s\n"+
		"disk available space = %7s\n",
		g.Name, mbHuman(g.TotalMB), mbHuman(g.FreeMB), mbHuman(g.ReservedMB), mbHuman(max(g.FreeMB-g.ReservedMB, 0)))
	if g.CurrentTrunkFileID >= 0 {
		fmt.Fprintf(w, "trunk free space = %7s\n", mbHuman(g.TrunkFreeMB))
	}
	fmt.Fprintf(w, "storage server count = %d\n"+
		"readable server count = %d\n"+
		"writable server count = %d\n"+
		"storage server port = %d\n"+
		"store path count = %d\n"+
		"subdir count per path = %d\n"+
		"current write server index = %d\n",
		g.StorageCount, g.ReadableCount, g.WritableCount, g.StoragePort,
		g.StorePathCount, g.SubdirCountPerPath, g.CurrentWriteServer)
	trunk := -1
	for i := range ss {
		if ss[i].IfTrunkServer {
			trunk = i
			break
		}
	}
	if g.CurrentTrunkFileID >= 0 && trunk >= 0 {
		fmt.Fprintf(w, "current trunk server = %s (%s)\n"+
			"current trunk file id = %d\n\n", ss[trunk].ID, ss[trunk].IP, g.CurrentTrunkFileID)
	} else {
		fmt.Fprintln(w)
	}
	for i := range ss {
		printStorage(w, i+1, &ss[i], syncDelay(ss, i))
	}
}

// syncDelay is the "(... delay)" after last_synced_timestamp: how far the
// storage's sync lags behind the latest source update of its peers.
func syncDelay(ss []protocol.StorageStat, i int) string {
	var maxSource int64
	for j := range ss {
		if j != i && ss[j].Stat.LastSourceUpdate > maxSource {
			maxSource = ss[j].Stat.LastSourceUpdate
		}
	}
	switch {
	case maxSource == 0:
		return ""
	case ss[i].Stat.LastSyncedTimestamp == 0:
		return "(never synced)"
	}
	return "(" + secondsHuman(maxSource-ss[i].Stat.LastSyncedTimestamp) + " delay)"
}

func printStorage(w io.Writer, k int, s *protocol.StorageStat, delay string) {
	st := &s.Stat
	upTime := ""
	if s.UpTime != 0 {
		upTime = datetime(s.UpTime)
	}
	fmt.Fprintf(w, "\tStorage %d:\n"+
		"\t\tid = %s\n"+
		"\t\thost = %s:%d  %s\n"+
		"\t\tread write mode = %s\n"+
		"\t\tversion = %s\n"+
		"\t\tjoin time = %s\n"+
		"\t\tup time = %s\n"+
		"\t\tdisk total space     = %7s\n"+
		"\t\tdisk free space      = %7s\n"+
		"\t\tdisk reserved space  = %7s\n"+
		"\t\tdisk available space = %7s\n"+
		"\t\tupload priority = %d\n"+
		"\t\tstore_path_count = %d\n"+
		"\t\tsubdir_count_per_path = %d\n"+
		"\t\tcurrent_write_path = %d\n"+
		"\t\tsource storage id = %s\n"+
		"\t\tif_trunk_server = %d\n"+
		"\t\tconnection.alloc_count = %d\n"+
		"\t\tconnection.current_count = %d\n"+
		"\t\tconnection.max_count = %d\n",
		k, s.ID, formatIP(s.IP), s.StoragePort, statusCaption(s.Status), rwCaption(s.RWMode),
		s.Version, datetime(s.JoinTime), upTime,
		mbHuman(s.TotalMB), mbHuman(s.FreeMB), mbHuman(s.ReservedMB), mbHuman(max(s.FreeMB-s.ReservedMB, 0)),
		s.UploadPriority, s.StorePathCount, s.SubdirCountPerPath, s.CurrentWritePath, s.SrcID,
		boolInt(s.IfTrunkServer), st.AllocCount, st.CurrentCount, st.MaxCount)
	for _, f := range st.Fields() {
		name := f.Name
		switch {
		case name == "total_download_bytes":
			name = "stotal_download_bytes" // upstream's spelling
		case strings.HasPrefix(name, "last_"):
			continue // printed below, in upstream's order, as dates
		}
		fmt.Fprintf(w, "\t\t%s = %d\n", name, *f.P)
	}
	fmt.Fprintf(w, "\t\tlast_heart_beat_time = %s\n"+
		"\t\tlast_source_update = %s\n"+
		"\t\tlast_sync_update = %s\n"+
		"\t\tlast_synced_timestamp = %s %s\n",
		datetime(st.LastHeartBeatTime), datetime(st.LastSourceUpdate),
		datetime(st.LastSyncUpdate), datetime(st.LastSyncedTimestamp), delay)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
