package interop

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestStockConfs starts the daemons from the reference build's own sample
// conf files (install/etc/fdfs), changing only what an operator must:
// addresses and paths (and the beat intervals, to be fast). Users swap the C daemons for ours without touching
// their confs, so ours must take these files as they are. "upstream" is
// the control.
func TestStockConfs(t *testing.T) {
	for _, im := range []impl{upstream, ours} {
		t.Run(string(im), func(t *testing.T) {
			e := newEnv(t)
			tr := e.newNode("tracker", im, trackerPort, nil)
			tr.conf = e.stockConf("tracker.conf", tr.conf, map[string]string{
				"bind_addr": tr.ip, "base_path": tr.base,
			}, nil)
			tr.start()
			var sts []*node
			for range 2 {
				s := e.newNode("storage", im, storagePort, nil)
				s.group = "group1"
				s.conf = e.stockConf("storage.conf", s.conf, map[string]string{
					"bind_addr": s.ip, "base_path": s.base, "store_path0": s.store,
					// only to be fast: joins and the first sync follow the beats
					"heart_beat_interval": "1", "stat_report_interval": "1",
				}, []string{tr.addr()})
				s.start()
				sts = append(sts, s)
			}
			e.clientConf = e.stockConf("client.conf", filepath.Join(e.dir, "client.conf"), map[string]string{
				"base_path": e.mkdir("client"),
			}, []string{tr.addr()})
			e.waitActive(sts...)

			data := randBytes(42, 100_000)
			id := e.upload(e.writeLocal("stock.bin", data))
			e.expectDownload(id, data)
			e.waitOnDisk(id, data, sts...)
			groups, r := e.monitor()
			if g := findGroup(groups, "group1"); g == nil || g.kv["subdir count per path"] != "256" {
				t.Errorf("fdfs_monitor: want group1 with the stock 256 subdirs:\n%s", r)
			}
		})
	}
}

// stockConf writes to dst the reference's sample conf name with the keys
// of set replaced and, when trackers is not nil, its tracker_server lines
// replaced by trackers.
func (e *env) stockConf(name, dst string, set map[string]string, trackers []string) string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(refEtc, name))
	if err != nil {
		e.t.Fatalf("stock conf: %v", err)
	}
	s := string(b)
	for k, v := range set {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(k) + `\s*=.*$`)
		if !re.MatchString(s) {
			e.t.Fatalf("stock %s has no %s line", name, k)
		}
		s = re.ReplaceAllLiteralString(s, k+" = "+v)
	}
	if trackers != nil {
		re := regexp.MustCompile(`(?m)^tracker_server\s*=.*\n`)
		first := true
		s = re.ReplaceAllStringFunc(s, func(string) string {
			if !first {
				return ""
			}
			first = false
			return "tracker_server = " + strings.Join(trackers, "\ntracker_server = ") + "\n"
		})
	}
	if err := os.WriteFile(dst, []byte(s), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return dst
}
