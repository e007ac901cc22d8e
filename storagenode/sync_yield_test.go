package storagenode

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/wiretest"
)

// A record's age decides both whether replication may hold it back
// (younger than yieldMax) and whether it goes pipelined (batchLag old);
// one without a timestamp is neither.
func TestRecordAge(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		line          string
		young, behind bool
	}{
		{"1800000000 C M00/00/00/a.txt", true, false},
		{"1800000005 C M00/00/00/a.txt", true, false}, // a clock stepped back
		{"1799999998 C M00/00/00/a.txt", true, false},
		{"1799999997 C M00/00/00/a.txt", false, true},
		{"1700000000 c M00/00/00/a.txt", false, true},
		{"garbage (12 bytes)", false, false},
		{"-9223372036854775808 C M00/00/00/a.txt", false, false},
		{"9223372036854775807 C M00/00/00/a.txt", false, false},
		{"17179869185 C M00/00/00/a.txt", false, false},
		{"", false, false},
	} {
		age, ok := recordAge(tc.line, now)
		if young := ok && age < yieldMax; young != tc.young {
			t.Errorf("%q: young %v, want %v", tc.line, young, tc.young)
		}
		if got := behind(tc.line, now); got != tc.behind {
			t.Errorf("behind(%q) = %v, want %v", tc.line, got, tc.behind)
		}
	}
}

// The storage is busy while two or more client writes are in flight, and
// for yieldWindow after.
func TestWriteLoad(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	var l writeLoad
	steps := []struct {
		do   string // "begin", "end" or "" (look only)
		at   time.Duration
		busy bool
	}{
		{"", 0, false},
		{"begin", 0, false}, // one at a time is not busy
		{"end", 10 * time.Millisecond, false},
		{"begin", time.Second, false},
		{"begin", time.Second, true},
		{"end", 2 * time.Second, true}, // one left, within the window
		{"", 2*time.Second + yieldWindow - time.Millisecond, true},
		{"", 2*time.Second + yieldWindow, false},
		{"end", 3 * time.Second, false}, // the last one: no longer busy
	}
	for i, st := range steps {
		now := t0.Add(st.at)
		switch st.do {
		case "begin":
			l.begin(now)
		case "end":
			l.end(now)
		}
		if got := l.busy(now); got != st.busy {
			t.Errorf("step %d (%s at %v): busy %v, want %v", i, st.do, st.at, got, st.busy)
		}
	}
}

// While two client uploads are in flight on a storage, files uploaded
// there are not replicated until the first one's record is yieldMax old,
// and then they are, though the uploads still go on; once they are over,
// replication is immediate again.
func TestSyncYieldsToClientWrites(t *testing.T) {
	c := newSyncCluster(t, "127.0.0.21", 2)
	a, _ := c.start(0), c.start(1)
	c.waitActive(0, 1)
	onB := func(name string) bool {
		_, err := os.Stat(filepath.Join(c.cfgs[1].BasePath, dataKey(name)))
		return err == nil
	}

	// Two uploads of 1 MiB whose bodies come a byte every 200 ms.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		slow := wiretest.Dial(t, a.Addr())
		req := protocol.UploadRequest{StorePathIndex: 0, FileSize: 1 << 20, Ext: "bin"}
		// The header announces the whole body; only a trickle follows.
		h := protocol.Header{Length: int64(protocol.UploadHeadLen) + req.FileSize, Cmd: protocol.CmdUploadFile}
		if _, err := slow.Conn.Write(append(h.Bytes(), req.Encode()...)); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer slow.Conn.Close()
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := slow.Conn.Write([]byte{0}); err != nil {
						return
					}
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	eventually(t, "two client writes in flight", func() bool { return a.writes.inflight.Load() == 2 })

	rc := dial(t, a)
	held := rc.upload(protocol.CmdUploadFile, 0, "txt", []byte("held back"))
	uploaded := time.Now()
	more := []string{rc.upload(protocol.CmdUploadFile, 0, "txt", []byte("and")), rc.upload(protocol.CmdUploadFile, 0, "txt", []byte("these"))}
	time.Sleep(time.Second) // the first record is at most 2 s old: still held
	if onB(held) {
		t.Fatalf("%s replicated while two uploads were in flight, %v after its upload", held, time.Since(uploaded))
	}
	eventually(t, "the held files to reach the peer once yieldMax old", func() bool { return onB(held) && onB(more[0]) && onB(more[1]) })
	// In one pipelined exchange: counted once the peer's replies are read,
	// which is after the files are on its disk.
	eventually(t, "the held run to go pipelined", func() bool { return pipelined(a) == 3 })
	if n := a.writes.inflight.Load(); n != 2 {
		t.Fatalf("the slow uploads ended (%d in flight) before the held files went", n)
	}
	if age := time.Since(uploaded); age < yieldMax-time.Second {
		t.Errorf("held file replicated %v after its upload, before yieldMax", age)
	}

	close(stop)
	wg.Wait()
	stop = make(chan struct{})
	eventually(t, "the slow uploads to end", func() bool { return a.writes.inflight.Load() == 0 })
	time.Sleep(yieldWindow)
	free := rc.upload(protocol.CmdUploadFile, 0, "txt", bytes.Repeat([]byte("x"), 100))
	eventually(t, "a file uploaded after the load to reach the peer", func() bool { return onB(free) })
}
