package faults

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

// tornCase damages storage A's binlog or its mark file for peer B while A
// is down, the way a crash or a power loss can.
type tornCase struct {
	name string
	// peerDown: B is stopped before A takes files of its own, so that A's
	// binlog holds records B has not had when A is killed (a peer
	// mid-sync, which must resume).
	peerDown bool
	// damage changes the files; it returns the file IDs whose binlog
	// record it destroyed (uploads a crash cut before their answer, so
	// not acknowledged: B need not get them).
	damage func(t *testing.T, binlog, mark string) (unacked []string)
	log    string // what A's log must say after its restart
}

var tornCases = []tornCase{
	{"half a record appended", true, func(t *testing.T, bl, _ string) []string {
		appendTo(t, bl, "1795000000 C M00/00/00/wKgAAWsG-d6AF5o3AAAACqa")
		return nil
	}, "binlog repaired"},
	{"last record cut in half", true, func(t *testing.T, bl, _ string) []string {
		b := readFile(t, bl)
		start := bytes.LastIndexByte(b[:len(b)-1], '\n') + 1
		f := strings.Fields(string(b[start:]))
		truncate(t, bl, int64(start+len(b[start:])/2))
		return []string{group + "/" + f[2]}
	}, "binlog repaired"},
	{"zeros at the end (power loss, data=ordered)", true, func(t *testing.T, bl, _ string) []string {
		appendTo(t, bl, strings.Repeat("\x00", 3*4096))
		return nil
	}, "binlog repaired"},
	{"garbage line", true, func(t *testing.T, bl, _ string) []string {
		appendTo(t, bl, "\x00\x00\xff garbage\n")
		return nil
	}, "skipping a record the peer will never take"},
	{"empty mark file", true, func(t *testing.T, _, mark string) []string {
		truncate(t, mark, 0)
		return nil
	}, "bad mark file, starting over"},
	{"mark inside a record", true, func(t *testing.T, _, mark string) []string {
		// Into the file name of the first record B has not had.
		setMarkOffset(t, mark, func(off int64) int64 { return off + 20 })
		return nil
	}, "sync mark repaired"},
	{"binlog lost its tail, the mark is ahead", false, func(t *testing.T, bl, _ string) []string {
		// The last 8 records vanish (their files reached B already); A's
		// next records are written where they were.
		b := readFile(t, bl)
		end := len(b)
		for range 8 {
			end = bytes.LastIndexByte(b[:end-1], '\n') + 1
		}
		truncate(t, bl, int64(end))
		return nil
	}, "sync mark repaired"},
}

// TestTornWrites: a group of two storages, A and B. For each case of
// tornCases, A is killed with SIGKILL (after files of its own that B,
// stopped, has not had, for a peer mid-sync), its binlog or its mark for
// B is damaged, both are started again, and more files and appender files
// are written. Then every acknowledged file must be served by both
// storages with its exact bytes (none missing, none appended twice), and
// A's log must say what it repaired.
func TestTornWrites(t *testing.T) {
	needBinary(t)
	c := startCluster(t, "127.0.0.160", "127.0.0.161", "127.0.0.162")
	a, b := c.storages[0], c.storages[1]
	syncDir := filepath.Join(filepath.Dir(c.storePaths[0]), "data", "sync")
	binlogPath := filepath.Join(syncDir, "binlog.000")
	markPath := filepath.Join(syncDir, "127.0.0.162_23000.mark")
	want := map[string]func() []byte{}
	seed := uint64(1)
	// write stores files of A's own (so that A's binlog gets records to
	// send), files through the tracker and an appender file.
	write := func(t *testing.T) {
		t.Helper()
		for range 5 {
			seed++
			want[uploadDirect(t, a.addr, seed)] = contentFunc(seed, 3000)
		}
		for range 3 {
			seed++
			want[clientUpload(t, c.client, seed)] = contentFunc(seed, 1000+int(seed%7)*997)
		}
		id, data := appenderWithAppends(t, c.client, seed)
		want[id] = func() []byte { return data }
	}
	write(t)
	for _, tc := range tornCases {
		t.Run(tc.name, func(t *testing.T) {
			waitMarkAtEnd(t, markPath, binlogPath)
			if tc.peerDown {
				b.kill()
				for range 5 {
					seed++
					want[uploadDirect(t, a.addr, seed)] = contentFunc(seed, 3000)
				}
			}
			a.kill()
			for _, id := range tc.damage(t, binlogPath, markPath) {
				delete(want, id)
			}
			a.start()
			if tc.peerDown {
				b.start()
			}
			c.waitActive(t)
			write(t)
			if lost, corrupt := c.verify(t, want); lost+corrupt > 0 {
				t.Fatalf("%d lost, %d corrupt of %d files", lost, corrupt, len(want))
			}
			if !logHas(a.logPath, tc.log) {
				t.Errorf("A's log does not say %q", tc.log)
			}
			t.Logf("%d files on both storages, byte for byte", len(want))
		})
	}
}

// waitMarkAtEnd waits until A's mark for B points at the end of A's
// binlog: B has had every record.
func waitMarkAtEnd(t *testing.T, mark, binlog string) {
	t.Helper()
	testwait.For(t, waitLimit, "B caught up with A's binlog", func() error {
		st, err := os.Stat(binlog)
		if err != nil {
			return err
		}
		if _, err := os.Stat(mark); err != nil {
			return err
		}
		if _, off := markOffset(t, mark); off != st.Size() {
			return fmt.Errorf("mark at %d, binlog %d bytes", off, st.Size())
		}
		return nil
	})
}

// uploadDirect uploads the 3000 bytes of seed to the storage at addr.
func uploadDirect(t *testing.T, addr string, seed uint64) string {
	t.Helper()
	st, id, err := uploadAt(addr, protocol.StoreAnyPath, content(seed, 3000))
	if err != nil || st != 0 {
		t.Fatalf("upload to %s: status %d, %v", addr, st, err)
	}
	return id
}

// clientUpload uploads the bytes of (seed, size of contentFunc) through
// the tracker.
func clientUpload(t *testing.T, cl *client.Client, seed uint64) string {
	t.Helper()
	b := contentFunc(seed, 1000+int(seed%7)*997)()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	id, err := cl.Upload(ctx, bytes.NewReader(b), int64(len(b)), client.UploadOptions{Ext: "bin"})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	return id
}

// appenderWithAppends creates an appender file and appends 3 chunks to
// it; it returns the file ID and the content acknowledged.
func appenderWithAppends(t *testing.T, cl *client.Client, seed uint64) (string, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	data := content(seed<<8, 500)
	id, err := cl.UploadAppender(ctx, bytes.NewReader(data), int64(len(data)), client.UploadOptions{Ext: "log"})
	if err != nil {
		t.Fatalf("upload appender: %v", err)
	}
	for i := range uint64(3) {
		chunk := content(seed<<8+i+1, 300+int(i)*111)
		if err := cl.Append(ctx, id, bytes.NewReader(chunk), int64(len(chunk))); err != nil {
			t.Fatalf("append to %s: %v", id, err)
		}
		data = append(data, chunk...)
	}
	return id, data
}

func contentFunc(seed uint64, n int) func() []byte {
	return func() []byte { return content(seed, n) }
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

// setMarkOffset rewrites binlog_offset in a mark file.
func setMarkOffset(t *testing.T, path string, f func(int64) int64) {
	t.Helper()
	_, off := markOffset(t, path)
	b := readFile(t, path)
	old := fmt.Sprintf("binlog_offset=%d\n", off)
	b = bytes.Replace(b, []byte(old), fmt.Appendf(nil, "binlog_offset=%d\n", f(off)), 1)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
