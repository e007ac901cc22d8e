package storagenode

import (
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

func TestNextAt(t *testing.T) {
	day := 24 * time.Hour
	at := func(h, m int) time.Time { return time.Date(2026, 12, 4, h, m, 0, 0, time.UTC) }
	cases := []struct {
		now   time.Time
		base  string
		every time.Duration
		want  time.Time
	}{
		{at(1, 0), "02:00", day, at(2, 0)},
		{at(2, 0), "02:00", day, at(2, 0).Add(day)},
		{at(3, 0), "02:00", day, at(2, 0).Add(day)},
		{at(3, 10), "02:00", time.Hour, at(4, 0)},
		{at(1, 59), "02:00", time.Hour, at(2, 0)},
		{at(23, 30), "03:00", 6 * time.Hour, at(3, 0).Add(day)},
	}
	for _, c := range cases {
		if got := nextAt(c.now, c.base, c.every); !got.Equal(c.want) {
			t.Errorf("nextAt(%v, %s, %v) = %v, want %v", c.now, c.base, c.every, got, c.want)
		}
	}
}

func TestParseTrunkParams(t *testing.T) {
	p := parseTrunkParams(protocol.Params{{Key: "use_trunk_file", Value: "1"}, {Key: "slot_max_size", Value: "65536"},
		{Key: "trunk_file_size", Value: "4194304"}, {Key: "trunk_free_space_merge", Value: "1"},
		{Key: "trunk_compress_binlog_interval", Value: "3600"}, {Key: "trunk_binlog_max_backups", Value: "3"}})
	if !p.Use || p.SlotMax != 64<<10 || p.FileSize != 4<<20 || !p.Merge || p.CompressEvery != time.Hour || p.MaxBackups != 3 {
		t.Errorf("parsed %+v", p)
	}
	// Missing keys (an older tracker) get upstream's defaults.
	d := parseTrunkParams(nil)
	if d.Use || d.SlotMin != 256 || d.SlotMax != 1<<20 || d.FileSize != 64<<20 || d.CreateTimeBase != "02:00" || d.CompressTimeBase != "03:00" {
		t.Errorf("defaults %+v", d)
	}
}
