package storagenode

import (
	"maps"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
)

func trunkName(t *testing.T, off uint32) string {
	t.Helper()
	name, err := fileid.Generate(0, 1, 2, fileid.Fields{Timestamp: 1_700_000_000, Size: 100, CRC32: off,
		Trunk: true, TrunkFileID: 1, TrunkOffset: off, TrunkAllocSize: 256}, "jpg")
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// TestTrunkReplay: the trunk names a replay of binlog records leaves are
// those created or linked and not deleted since; normal files, metadata
// and malformed names are not trunk files.
func TestTrunkReplay(t *testing.T) {
	a, b, c := trunkName(t, 0), trunkName(t, 256), trunkName(t, 512)
	normal, err := fileid.Generate(0, 1, 2, fileid.Fields{Timestamp: 1_700_000_000, Size: 100}, "jpg")
	if err != nil {
		t.Fatal(err)
	}
	rec := func(op binlog.Op, name string) *binlog.Record { return &binlog.Record{Op: op, Name: name} }
	tests := []struct {
		name string
		recs []*binlog.Record
		want []string
	}{
		{"created", []*binlog.Record{rec(binlog.OpCreate, a), rec(binlog.OpReplicaCreate, b)}, []string{a, b}},
		{"link", []*binlog.Record{rec(binlog.OpLink, c)}, []string{c}},
		{"deleted", []*binlog.Record{rec(binlog.OpCreate, a), rec(binlog.OpReplicaDelete, a)}, nil},
		{"created again after a delete", []*binlog.Record{rec(binlog.OpCreate, a), rec(binlog.OpDelete, a), rec(binlog.OpReplicaCreate, a)}, []string{a}},
		{"normal file", []*binlog.Record{rec(binlog.OpCreate, normal)}, nil},
		{"metadata", []*binlog.Record{rec(binlog.OpUpdate, a+metaSuffix)}, nil},
		{"malformed", []*binlog.Record{rec(binlog.OpCreate, "M00/01/02/nonsense.jpg")}, nil},
		{"delete of a file never created", []*binlog.Record{rec(binlog.OpDelete, b)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names := map[string]struct{}{}
			for _, r := range tt.recs {
				trunkReplay(names, r)
			}
			got := slices.Sorted(maps.Keys(names))
			slices.Sort(tt.want)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTrunkContainer(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"000001", true},
		{"1234567", true},
		{"00001", false},
		{"00000a", false},
		{"wKgBAGVkeRCAVn3SAAAAZPKqTbY.jpg", false},
		{"000001.jpg", false},
	}
	for _, tt := range tests {
		if got := trunkContainer(tt.name); got != tt.want {
			t.Errorf("trunkContainer(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestTrunkIndexBench measures the start-up cost trunk files add to the
// index: a binlog of FDFS_BENCH_TRUNK_INDEX (e.g. 200000) trunk file
// creates, every one in a slot of a trunk container (header written,
// content sparse), replayed and header-checked by walkTrunk. Figures in
// docs/benchmarks.md; it asserts nothing about speed.
func TestTrunkIndexBench(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("FDFS_BENCH_TRUNK_INDEX"))
	if n <= 0 {
		t.Skip("set FDFS_BENCH_TRUNK_INDEX=<files> to run the trunk index benchmark")
	}
	cfg := testConfig(t)
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	const slot = 128 // bytes, header included
	loc := trunk.Location{High: 1, Low: 2, ID: 1}
	if err := trunk.CreateFile(nil, loc.Path(cfg.StorePaths[0]), int64(n)*slot); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(loc.Path(cfg.StorePaths[0]), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range n {
		name, err := fileid.Generate(0, 1, 2, fileid.Fields{Timestamp: 1_700_000_000 + int64(i), Size: 100, CRC32: uint32(i),
			Trunk: true, TrunkFileID: 1, TrunkOffset: uint32(i * slot), TrunkAllocSize: slot}, "jpg")
		if err != nil {
			t.Fatal(err)
		}
		var h [trunk.HeaderSize]byte
		hd := trunk.Expected(mustParse(t, name), trunk.TypeRegular)
		hd.Put(h[:])
		if _, err := f.WriteAt(h[:], int64(i*slot)); err != nil {
			t.Fatal(err)
		}
		if err := s.bl.Write(1_700_000_000+int64(i), binlog.OpCreate, name, ""); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	s.Close()
	t.Logf("wrote %d trunk files and their records in %v", n, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	s = startServer(t, cfg)
	<-s.index.ready
	t.Logf("index of %d trunk files built in %v", len(s.index.files), time.Since(start).Round(time.Millisecond))
	if len(s.index.files) != n {
		t.Fatalf("indexed %d trunk files, want %d", len(s.index.files), n)
	}
}
