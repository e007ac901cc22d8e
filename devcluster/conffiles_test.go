package devcluster

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
)

// TestRenderedConfsParse checks that the generated files are valid upstream
// conf files with the intended values, and that extra lines replace the
// generated ones instead of duplicating them.
func TestRenderedConfsParse(t *testing.T) {
	dir := t.TempDir()
	tr, err := conf.ParseTracker(renderTracker(trackerParams{
		BindAddr: "127.1.2.3", Port: 22122, BasePath: dir, UseStorageID: false, LogLevel: "warn",
		Extra: []string{"check_active_interval = 7", "# a comment", "store_lookup=0"},
	}), dir)
	if err != nil {
		t.Fatal(err)
	}
	if tr.BindAddr != "127.1.2.3" || tr.Port != 22122 || tr.BasePath != dir || tr.LogLevel != "warn" ||
		tr.CheckActiveInterval != 7*time.Second || tr.StoreLookup != 0 || tr.UseStorageID {
		t.Errorf("tracker conf: %+v", tr)
	}

	paths := []string{dir + "/p0", dir + "/p1"}
	st, err := conf.ParseStorage(renderStorage(storageParams{
		Group: "group2", BindAddr: "127.1.2.4", Port: 23001, HTTPPort: 8889, BasePath: dir,
		StorePaths: paths, SubdirCount: 4, Trackers: []string{"127.1.2.3:22122"},
		HeartBeatInterval: 1, LogLevel: "info",
		Extra: []string{"tracker_server = 127.9.9.9:22122", "tracker_server = 127.9.9.8:22122"},
	}), dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.GroupName != "group2" || st.BindAddr != "127.1.2.4" || st.Port != 23001 || st.HTTPServerPort != 8889 ||
		!slices.Equal(st.StorePaths, paths) || st.SubdirCountPerPath != 4 || st.HeartBeatInterval != time.Second ||
		!slices.Equal(st.TrackerServers, []string{"127.9.9.9:22122", "127.9.9.8:22122"}) {
		t.Errorf("storage conf: %+v", st)
	}

	cl, err := conf.ParseClient(renderClient(clientParams{
		BasePath: dir, Trackers: []string{"127.1.2.3:22122"}, UseStorageID: true,
		StorageIDsFile: dir + "/storage_ids.conf", LogLevel: "info", HTTPTrackerPort: 8080,
	}), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cl.TrackerServers, []string{"127.1.2.3:22122"}) || !cl.UseStorageID ||
		cl.StorageIDsFilename != dir+"/storage_ids.conf" {
		t.Errorf("client conf: %+v", cl)
	}

	ids, err := conf.ParseStorageIDs(renderStorageIDs([]storageIDLine{
		{ID: "100001", Group: "group1", IP: "127.1.2.4"}, {ID: "100002", Group: "group1", IP: "127.1.2.5"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := ids.ByID("100002"); !ok || s.Group != "group1" || !slices.Equal(s.IPs, []string{"127.1.2.5"}) {
		t.Errorf("storage ids: %+v", ids)
	}
}

func TestExtraLines(t *testing.T) {
	cases := []struct {
		name  string
		extra []string
		want  []string // lines expected in order
		not   []string // lines that must be gone
	}{
		{"replace in place", []string{"b = 20"}, []string{"a = 1", "b = 20", "c = 3"}, []string{"b = 2"}},
		{"add new key", []string{"d = 4"}, []string{"c = 3", "d = 4"}, nil},
		{"replace a repeated key", []string{"r = x", "r = y"}, []string{"r = x", "r = y"}, []string{"r = 1", "r = 2"}},
		{"verbatim line", []string{"#include other.conf"}, []string{"#include other.conf"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var w confWriter
			w.kv("a", 1)
			w.kv("b", 2)
			w.kv("r", 1)
			w.kv("r", 2)
			w.kv("c", 3)
			w.extra(tc.extra)
			out := string(w.bytes())
			at := 0
			for _, l := range tc.want {
				i := strings.Index(out[at:], l+"\n")
				if i < 0 {
					t.Fatalf("%q missing (in order) from:\n%s", l, out)
				}
				at += i + len(l)
			}
			for _, l := range tc.not {
				if strings.Contains(out, l+"\n") {
					t.Errorf("%q still present in:\n%s", l, out)
				}
			}
		})
	}
}
