package trunk

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/tests/internal/payload"
)

// proc is one daemon of the fdfs binary.
type proc struct {
	t          *testing.T
	args       []string
	addr, logf string
	cmd        *exec.Cmd
	done       chan struct{}
}

func (p *proc) start() {
	p.t.Helper()
	log, err := os.OpenFile(p.logf, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	p.cmd = exec.Command(bin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = log, log
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.done = make(chan struct{})
	go func(done chan struct{}) {
		p.cmd.Wait()
		log.Close()
		close(done)
	}(p.done)
	testwait.Until(p.t, waitLimit, p.args[0]+" listening", func() bool {
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// kill9 sends SIGKILL and waits for the process to be gone.
func (p *proc) kill9() {
	if p.done != nil {
		p.cmd.Process.Kill()
		<-p.done
		p.done = nil
	}
}

// TestTrunkServerKill9: the real binary, trunk server of its group, is
// killed with SIGKILL while four clients upload small files into trunks,
// then restarted: every acknowledged upload, before and after the kill,
// reads back byte for byte, no two acknowledged files share a slot, and
// uploads into trunks go on (the free space reloaded from the trunk
// binlog hands out no slot that holds a file).
func TestTrunkServerKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the fdfs binary")
	}
	dir := t.TempDir()
	const trackerAddr, storageAddr = "127.0.0.230:22122", "127.0.0.231:23000"
	tconf := filepath.Join(dir, "tracker.conf")
	os.WriteFile(tconf, fmt.Appendf(nil, "bind_addr = 127.0.0.230\nport = 22122\nbase_path = %s\nreserved_storage_space = 1M\n"+
		"use_trunk_file = true\ntrunk_file_size = 4MB\nslot_max_size = 64KB\n", dir), 0o644)
	sbase := filepath.Join(dir, "storage")
	os.MkdirAll(sbase, 0o755)
	sconf := filepath.Join(dir, "storage.conf")
	os.WriteFile(sconf, fmt.Appendf(nil, "group_name = group1\nbind_addr = 127.0.0.231\nport = 23000\nbase_path = %s\n"+
		"store_path0 = %s\nsubdir_count_per_path = 4\ntracker_server = %s\nheart_beat_interval = 1\nstat_report_interval = 1\n",
		sbase, sbase, trackerAddr), 0o644)
	tr := &proc{t: t, args: []string{"tracker", "--config", tconf}, addr: trackerAddr, logf: filepath.Join(dir, "tracker.log")}
	st := &proc{t: t, args: []string{"storage", "--config", sconf}, addr: storageAddr, logf: filepath.Join(dir, "storage.log")}
	t.Cleanup(func() {
		st.kill9()
		tr.kill9()
		if t.Failed() {
			b, _ := os.ReadFile(st.logf)
			t.Logf("storage log (tail):\n%s", b[max(0, len(b)-8<<10):])
		}
	})
	tr.start()
	st.start()
	cl, err := client.New(client.Config{Trackers: []string{trackerAddr}, ConnectTimeout: 2 * time.Second, NetworkTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	waitTrunkServer(t, cl)

	var mu sync.Mutex
	acked := map[string][]byte{}
	upload := func(seed int) {
		data := payload.Bytes(seed, 1+seed*7919%30000)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		id, err := cl.Upload(ctx, bytes.NewReader(data), int64(len(data)), client.UploadOptions{Ext: "bin"})
		if err == nil {
			mu.Lock()
			acked[id] = data
			mu.Unlock()
		}
	}
	run := func(from, n int) {
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := from + w; i < from+n; i += 4 {
					upload(i)
				}
			})
		}
		wg.Wait()
	}
	stop := make(chan struct{})
	go func() {
		defer close(stop)
		run(0, 4000)
	}()
	testwait.Until(t, waitLimit, "300 acknowledged uploads", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 300
	})
	st.kill9()
	<-stop
	before := len(acked)
	st.start()
	waitTrunkServer(t, cl)
	run(10000, 400)
	t.Logf("%d uploads acknowledged before the kill, %d in all", before, len(acked))

	slots := map[string]string{}
	for id, data := range acked {
		n := parse(t, id)
		if !n.Trunk {
			t.Errorf("%s not in a trunk", id)
			continue
		}
		slot := fmt.Sprintf("%d/%d", n.TrunkFileID, n.TrunkOffset)
		if prev, dup := slots[slot]; dup {
			t.Errorf("%s and %s share the slot %s", prev, id, slot)
		}
		slots[slot] = id
		expectContent(t, cl, id, data)
	}
	if len(acked) < before+300 {
		t.Errorf("only %d of 400 uploads after the restart acknowledged", len(acked)-before)
	}
}
