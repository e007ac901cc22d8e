package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fdfsnet"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/internal/wiretest"
)

// traceCluster starts a replaying storage and a tracker pointing at it.
func traceCluster(t *testing.T, storageTraces ...string) (*Client, *fakeServer, *fakeServer) {
	t.Helper()
	st := replayStorage(t, storageTraces...)
	tr := fakeTracker(t, "127.0.0.2", st.port(),
		"SERVER_GET_LEADER", "SERVER_LIST_ALL_GROUPS", "SERVER_LIST_STORAGE", "SERVER_LIST_ONE_GROUP",
		"QUERY_FETCH_ALL", "QUERY_STORE_WITHOUT_GROUP_ALL")
	cl := newTestClient(t, Config{Trackers: []string{tr.addr()}, NetworkTimeout: 10 * time.Second})
	return cl, tr, st
}

// Every storage operation sends exactly the bytes of the C client's
// request in the golden traces and decodes the captured reply.
func TestStorageOpsAgainstTraces(t *testing.T) {
	const (
		id514 = "group1/M00/00/00/fwAAA2sG-h2AUo88AAAACqaEx8Y514.txt"
		id662 = "group1/M00/00/00/fwAAA2sG-d6AF5o3AAAACqaEx8Y662.txt"
		id426 = "group1/M00/00/00/fwAAA2sG-h6EW4gpAAAAAHLTGtU426.txt"
		id290 = "group1/M00/00/00/fwAABGsG-h6Edvq-AAAAAKaEx8Y290.txt"
		id645 = "group1/M00/00/00/fwAABGsG-h6ASSbsAAAACmFOU2Y645.jpg"
	)
	slave := trace(t, "UPLOAD_SLAVE_FILE")
	slaveContent := slave.Request[len(slave.Request)-10:]
	ctx := context.Background()
	tests := []struct {
		name  string
		trace string
		run   func(cl *Client) (any, error)
		want  any
	}{
		{"upload", "UPLOAD_FILE", func(cl *Client) (any, error) {
			return cl.Upload(ctx, strings.NewReader("0123456789"), 10, UploadOptions{Ext: ".txt"})
		}, id662},
		{"upload to group", "UPLOAD_FILE", func(cl *Client) (any, error) {
			return cl.Upload(ctx, strings.NewReader("0123456789"), 10, UploadOptions{Group: "group1", Ext: "txt"})
		}, id662},
		{"upload appender", "UPLOAD_APPENDER_FILE", func(cl *Client) (any, error) {
			return cl.UploadAppender(ctx, strings.NewReader("ABCDE"), 5, UploadOptions{Ext: "txt"})
		}, id426},
		{"upload slave", "UPLOAD_SLAVE_FILE", func(cl *Client) (any, error) {
			return cl.UploadSlave(ctx, bytes.NewReader(slaveContent), 10, id645, "_big", "jpg")
		}, "group1/M00/00/00/fwAABGsG-h6ASSbsAAAACmFOU2Y645_big.jpg"},
		{"download", "DOWNLOAD_FILE", func(cl *Client) (any, error) {
			var b bytes.Buffer
			_, err := cl.Download(ctx, id514, 0, 0, &b)
			return b.String(), err
		}, "0123456789"},
		{"delete", "DELETE_FILE", func(cl *Client) (any, error) {
			return nil, cl.Delete(ctx, id514)
		}, nil},
		{"set metadata", "SET_METADATA", func(cl *Client) (any, error) {
			return nil, cl.SetMetadata(ctx, id662, map[string]string{"size": "10", "color": "red"}, protocol.MetaOverwrite)
		}, nil},
		{"get metadata", "GET_METADATA", func(cl *Client) (any, error) {
			return cl.GetMetadata(ctx, id645)
		}, map[string]string{"author": "fdfs", "ext_name": "jpg", "file_size": "115120", "height": "80", "width": "1024"}},
		{"file info", "QUERY_FILE_INFO", func(cl *Client) (any, error) {
			fi, err := cl.GetFileInfo(ctx, id514)
			if err != nil {
				return nil, err
			}
			return [4]any{fi.Size, fi.CreateTime.Unix(), fi.CRC32, fi.SourceIP + "/" + fi.Type()}, nil
		}, [4]any{int64(10), int64(0x6b06fa1d), uint32(0xa684c7c6), "127.0.0.3/normal"}},
		{"append", "APPEND_FILE", func(cl *Client) (any, error) {
			return nil, cl.Append(ctx, id426, strings.NewReader("0123456789"), 10)
		}, nil},
		{"modify", "MODIFY_FILE", func(cl *Client) (any, error) {
			return nil, cl.Modify(ctx, id290, 15, strings.NewReader("0123456789"), 10)
		}, nil},
		{"truncate", "TRUNCATE_FILE", func(cl *Client) (any, error) {
			return nil, cl.Truncate(ctx, id290, 5)
		}, nil},
		{"regenerate", "REGENERATE_APPENDER_FILENAME", func(cl *Client) (any, error) {
			return cl.RegenerateAppender(ctx, id426)
		}, "group1/M00/00/00/fwAAA2sG-h6AdHLeAAAAD9U3-9k426.txt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cl, _, st := traceCluster(t, tc.trace)
			got, err := tc.run(cl)
			if err != nil {
				t.Fatal(err)
			}
			if m, ok := got.(map[string]string); ok {
				if !maps.Equal(m, tc.want.(map[string]string)) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			} else if got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if cmds := st.commands(); len(cmds) != 1 || cmds[0] != trace(t, tc.trace).Cmd {
				t.Fatalf("storage saw commands %v", cmds)
			}
		})
	}
}

// Error replies come back as status errors wrapped with the operation and
// file ID, and leave the connection usable.
func TestStatusErrors(t *testing.T) {
	cl, _, st := traceCluster(t, "GET_METADATA.err2", "DOWNLOAD_FILE.err2", "DOWNLOAD_FILE")
	id := "group1/M00/00/00/fwAAA2sG-h2AUo88AAAACqaEx8Y514.txt"
	_, err := cl.GetMetadata(context.Background(), id)
	if !errors.Is(err, protocol.ErrNotFound) {
		t.Fatalf("get metadata: %v, want ENOENT", err)
	}
	var oe *OpError
	if !errors.As(err, &oe) || oe.FileID != id || oe.Op != "get metadata" || protocol.StatusOf(err) != protocol.ENOENT {
		t.Fatalf("error %#v", err)
	}
	_, err = cl.Download(context.Background(), "group1/M00/00/00/notexistnotexistnotexistnot123456.jpg", 0, 0, io.Discard)
	if !errors.Is(err, protocol.ErrNotFound) {
		t.Fatalf("download: %v, want ENOENT", err)
	}
	var b bytes.Buffer
	if _, err := cl.Download(context.Background(), id, 0, 0, &b); err != nil || b.String() != "0123456789" {
		t.Fatalf("download after errors: %q, %v", b.String(), err)
	}
	if n := st.accepts.Load(); n != 1 {
		t.Fatalf("storage accepted %d connections, want 1 (error replies keep the connection)", n)
	}
}

// Tracker-side operations decode the captured replies.
func TestTrackerOpsAgainstTraces(t *testing.T) {
	cl, _, _ := traceCluster(t)
	ctx := context.Background()
	leader, err := cl.GetLeader(ctx)
	if err != nil || leader != "127.0.0.2:22122" {
		t.Fatalf("leader %q, %v", leader, err)
	}
	gs, err := cl.ListGroups(ctx)
	if err != nil || len(gs) != 1 || gs[0].Name != "group1" || gs[0].StorageCount != 2 {
		t.Fatalf("groups %+v, %v", gs, err)
	}
	g, err := cl.ListGroup(ctx, "group1")
	if err != nil || g.Name != "group1" {
		t.Fatalf("group %+v, %v", g, err)
	}
	ss, err := cl.ListStorages(ctx, "group1", "")
	if err != nil || len(ss) != 2 || ss[0].Status != protocol.StatusActive {
		t.Fatalf("storages %+v, %v", ss, err)
	}
	all, err := cl.QueryFetchAll(ctx, "group1/M00/00/00/fwAAA2sG-h2AUo88AAAACqaEx8Y514.txt")
	if err != nil || len(all) != 1 || all[0].IP != "127.0.0.4" {
		t.Fatalf("fetch all %+v, %v", all, err)
	}
	store, err := cl.QueryStoreAll(ctx, "")
	if err != nil || len(store) != 2 || store[0].Group != "group1" {
		t.Fatalf("store all %+v, %v", store, err)
	}
	for _, bad := range []func() error{
		func() error { _, err := cl.ListStorages(ctx, "bad group", ""); return err },
		func() error { return cl.DeleteStorage(ctx, "group1", "") },
		func() error { return cl.DeleteGroup(ctx, "") },
		func() error { _, err := cl.QueryFetch(ctx, "nogroup"); return err },
		func() error { _, err := cl.QueryFetch(ctx, "group1/short"); return err },
	} {
		if err := bad(); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("bad input: %v, want EINVAL", err)
		}
	}
}

// The first tracker refuses connections; the second answers, and later
// requests go to it directly.
func TestTrackerFailover(t *testing.T) {
	st := replayStorage(t, "UPLOAD_FILE")
	tr := fakeTracker(t, "127.0.0.5", st.port())
	dead := wiretest.RefusedAddr(t, "127.0.0.6")
	cl := newTestClient(t, Config{Trackers: []string{dead, tr.addr()}})
	for range 2 {
		if _, err := cl.Upload(context.Background(), strings.NewReader("0123456789"), 10, UploadOptions{Ext: "txt"}); err != nil {
			t.Fatal(err)
		}
	}
	if cl.trackers[cl.cur.Load()] != tr.addr() {
		t.Fatalf("current tracker %s, want %s", cl.trackers[cl.cur.Load()], tr.addr())
	}
	if n := tr.accepts.Load(); n != 1 {
		t.Fatalf("tracker accepted %d connections, want 1 (pooled)", n)
	}

	// With every tracker down the error names each one.
	cl2 := newTestClient(t, Config{Trackers: []string{dead, wiretest.RefusedAddr(t, "127.0.0.7")}})
	_, err := cl2.QueryStore(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), dead) {
		t.Fatalf("all trackers down: %v", err)
	}
}

// A status error is an answer: no failover to the next tracker.
func TestNoFailoverOnStatus(t *testing.T) {
	enoent := startFake(t, "127.0.0.8", func(h protocol.Header, body []byte, c net.Conn) bool {
		return protocol.WritePacket(c, protocol.CmdResp, protocol.ENOENT, nil) == nil
	})
	second := fakeTracker(t, "127.0.0.9", 1)
	cl := newTestClient(t, Config{Trackers: []string{enoent.addr(), second.addr()}})
	if _, err := cl.QueryStore(context.Background(), "group9"); !errors.Is(err, protocol.ErrNotFound) {
		t.Fatalf("err %v, want ENOENT", err)
	}
	if n := second.accepts.Load(); n != 0 {
		t.Fatalf("second tracker contacted %d times", n)
	}
}

// Content is streamed both ways, from a file (sendfile) and to a file,
// across several deadline chunks; ranges are honoured.
func TestStreamLargeFile(t *testing.T) {
	cs := &contentStorage{}
	st := startFake(t, "127.0.0.3", cs.handle)
	tr := fakeTracker(t, "127.0.0.2", st.port())
	cl := newTestClient(t, Config{Trackers: []string{tr.addr()}})
	ctx := context.Background()

	data := make([]byte, fdfsnet.StreamChunk*2+12345)
	for i := range data {
		data[i] = byte(i * 7)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	id, err := cl.Upload(ctx, f, int64(len(data)), UploadOptions{Ext: "bin"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cs.data, data) {
		t.Fatal("uploaded content differs")
	}
	out, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	n, err := cl.Download(ctx, id, 0, 0, out)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("download %d, %v", n, err)
	}
	got, _ := os.ReadFile(out.Name())
	if !bytes.Equal(got, data) {
		t.Fatal("downloaded content differs")
	}
	var part bytes.Buffer
	if _, err := cl.Download(ctx, id, 100, 50, &part); err != nil || !bytes.Equal(part.Bytes(), data[100:150]) {
		t.Fatalf("range download: %v", err)
	}
	if n := st.accepts.Load(); n != 1 {
		t.Fatalf("storage accepted %d connections, want 1", n)
	}
}

// A connection is never pooled mid-response: a failing writer or a short
// reader breaks it, and the next operation dials a new one.
func TestBrokenConnNotPooled(t *testing.T) {
	cs := &contentStorage{}
	st := startFake(t, "127.0.0.3", cs.handle)
	tr := fakeTracker(t, "127.0.0.2", st.port())
	cl := newTestClient(t, Config{Trackers: []string{tr.addr()}})
	ctx := context.Background()
	data := bytes.Repeat([]byte("x"), 1<<20)
	id, err := cl.Upload(ctx, bytes.NewReader(data), int64(len(data)), UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Download(ctx, id, 0, 0, failWriter{}); !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("download to failing writer: %v", err)
	}
	if n := cl.pool.idleCount(st.addr()); n != 0 {
		t.Fatalf("%d idle storage connections after a broken download", n)
	}
	if _, err := cl.Upload(ctx, strings.NewReader("short"), 10, UploadOptions{}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short upload: %v", err)
	}
	var b bytes.Buffer
	if _, err := cl.Download(ctx, id, 0, 0, &b); err != nil || b.Len() != len(data) {
		t.Fatalf("download after breakage: %d, %v", b.Len(), err)
	}
	if n := st.accepts.Load(); n != 3 {
		t.Fatalf("storage accepted %d connections, want 3", n)
	}
}

// Pooled connections closed by the server, expired, or idle for long are
// replaced or checked transparently.
func TestPoolChecks(t *testing.T) {
	tests := []struct {
		name        string
		cfg         Config
		drop        bool
		wantAccepts int32
		wantActive  bool
	}{
		{"reuse", Config{}, false, 1, false},
		{"server closed idle conn", Config{}, true, 2, false},
		{"idle timeout", Config{IdleTimeout: time.Nanosecond}, false, 2, false},
		{"active test after idle", Config{ActiveTestAfter: time.Nanosecond}, false, 1, true},
		{"no pooling", Config{MaxIdlePerHost: -1}, false, 2, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := fakeTracker(t, "127.0.0.2", 1, "SERVER_GET_LEADER")
			tc.cfg.Trackers = []string{tr.addr()}
			cl := newTestClient(t, tc.cfg)
			ctx := context.Background()
			if _, err := cl.GetLeader(ctx); err != nil {
				t.Fatal(err)
			}
			if tc.drop {
				tr.dropConns()
				// Wait until the close reached the client's socket.
				testwait.Until(t, 10*time.Second, "the close to reach the client", func() bool {
					return !idleAlive(cl.pool, tr.addr())
				})
			}
			if _, err := cl.GetLeader(ctx); err != nil {
				t.Fatal(err)
			}
			if n := tr.accepts.Load(); n != tc.wantAccepts {
				t.Fatalf("accepted %d connections, want %d", n, tc.wantAccepts)
			}
			if got := bytes.Contains(tr.commands(), []byte{protocol.CmdActiveTest}); got != tc.wantActive {
				t.Fatalf("active test sent: %v (commands %v)", got, tr.commands())
			}
		})
	}
}

// The pool keeps at most MaxIdlePerHost idle connections per address.
func TestPoolBound(t *testing.T) {
	tr := fakeTracker(t, "127.0.0.2", 1, "SERVER_GET_LEADER")
	cl := newTestClient(t, Config{Trackers: []string{tr.addr()}, MaxIdlePerHost: 2})
	var cs []*conn
	var rels []func() bool
	for range 5 {
		c, rel, err := cl.pool.get(context.Background(), tr.addr(), false)
		if err != nil {
			t.Fatal(err)
		}
		cs, rels = append(cs, c), append(rels, rel)
	}
	for i, c := range cs {
		cl.pool.put(c, rels[i])
	}
	if n := cl.pool.idleCount(tr.addr()); n != 2 {
		t.Fatalf("%d idle connections, want 2", n)
	}
	cl.Close()
	if n := cl.pool.idleCount(tr.addr()); n != 0 {
		t.Fatalf("%d idle connections after Close", n)
	}
}

// A cancelled context or an expired network timeout aborts a request the
// server never answers, and the connection is dropped.
func TestCancelAndTimeout(t *testing.T) {
	got := make(chan struct{}, 4)
	hang := startFake(t, "127.0.0.3", func(h protocol.Header, body []byte, c net.Conn) bool {
		got <- struct{}{}
		io.Copy(io.Discard, c) // until the client closes
		return false
	})
	tr := fakeTracker(t, "127.0.0.2", hang.port())
	id := "group1/M00/00/00/fwAAA2sG-h2AUo88AAAACqaEx8Y514.txt"

	cl := newTestClient(t, Config{Trackers: []string{tr.addr()}})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-got
		cancel()
	}()
	if _, err := cl.Download(ctx, id, 0, 0, io.Discard); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled download: %v", err)
	}
	if n := cl.pool.idleCount(hang.addr()); n != 0 {
		t.Fatalf("%d idle connections after cancel", n)
	}

	cl2 := newTestClient(t, Config{Trackers: []string{tr.addr()}, NetworkTimeout: 20 * time.Millisecond})
	if err := cl2.Delete(context.Background(), id); !errors.Is(err, os.ErrDeadlineExceeded) || protocol.StatusOf(err) != protocol.ETIMEDOUT {
		t.Fatalf("timed out delete: %v", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if err := cl.Delete(ctx, id); !errors.Is(err, context.Canceled) {
		t.Fatalf("delete with a cancelled context: %v", err)
	}
}

// Metadata given to Upload is set right after it; when that fails the
// new file is deleted, as the C client does.
func TestUploadMetaFailureDeletes(t *testing.T) {
	var deleted []byte
	st := startFake(t, "127.0.0.3", func(h protocol.Header, body []byte, c net.Conn) bool {
		switch h.Cmd {
		case protocol.CmdUploadFile:
			return protocol.WriteResponse(c, (&protocol.FileResponse{Group: "group1", Name: contentName}).Encode()) == nil
		case protocol.CmdSetMetadata:
			return protocol.WritePacket(c, protocol.CmdResp, protocol.ENOSPC, nil) == nil
		case protocol.CmdDeleteFile:
			deleted = bytes.Clone(body)
			return protocol.WriteResponse(c, nil) == nil
		}
		return false
	})
	tr := fakeTracker(t, "127.0.0.2", st.port())
	cl := newTestClient(t, Config{Trackers: []string{tr.addr()}})
	_, err := cl.Upload(context.Background(), strings.NewReader("abc"), 3, UploadOptions{Meta: map[string]string{"a": "b"}})
	if !errors.Is(err, protocol.ErrNoSpace) {
		t.Fatalf("upload: %v, want ENOSPC", err)
	}
	want := (&protocol.FileRequest{Group: "group1", Name: contentName}).Encode()
	if !bytes.Equal(deleted, want) {
		t.Fatalf("deleted %q, want %q", deleted, want)
	}
	if cmds := st.commands(); !bytes.Equal(cmds, []byte{protocol.CmdUploadFile, protocol.CmdSetMetadata, protocol.CmdDeleteFile}) {
		t.Fatalf("storage commands %v", cmds)
	}
}

func TestParseTrackerAddr(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"127.0.0.2:22122", []string{"127.0.0.2:22122"}},
		{"tracker", []string{"tracker:22122"}},
		{"10.0.0.1,10.0.0.2:22122", []string{"10.0.0.1:22122", "10.0.0.2:22122"}},
		{"[::1]:22122", []string{"[::1]:22122"}},
		{"::1", []string{"[::1]:22122"}},
		{"", nil},
		{"h:0", nil},
		{"h:x", nil},
		{"a,:1", nil},
	}
	for _, tc := range tests {
		got, err := ParseTrackerAddr(tc.in)
		if tc.want == nil {
			if !errors.Is(err, protocol.ErrInvalid) {
				t.Errorf("%q: %v, %v; want EINVAL", tc.in, got, err)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%q: %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := New(Config{}); !errors.Is(err, protocol.ErrInvalid) {
		t.Errorf("New without trackers: %v", err)
	}
}

// idleAlive reports whether the newest idle connection to addr still looks
// open.
func idleAlive(p *pool, addr string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.idle[addr]
	return len(l) > 0 && l[len(l)-1].Alive()
}

// A tracker that drops a pooled connection instead of answering is retried
// once on a new connection, not reported as a failure.
func TestTrackerRetryOnReusedConn(t *testing.T) {
	leader := trace(t, "SERVER_GET_LEADER").Response
	var mu sync.Mutex
	served := map[net.Conn]int{}
	tr := startFake(t, "127.0.0.2", func(h protocol.Header, body []byte, c net.Conn) bool {
		mu.Lock()
		served[c]++
		n := served[c]
		mu.Unlock()
		if n > 1 {
			return false // close instead of answering a second request
		}
		_, err := c.Write(leader)
		return err == nil
	})
	cl := newTestClient(t, Config{Trackers: []string{tr.addr()}})
	for i := range 3 {
		if l, err := cl.GetLeader(context.Background()); err != nil || l != "127.0.0.2:22122" {
			t.Fatalf("call %d: %q, %v", i, l, err)
		}
	}
	if n := tr.accepts.Load(); n != 3 {
		t.Fatalf("tracker accepted %d connections, want 3", n)
	}
}

// Malformed replies are errors (EINVAL for bad layouts), never panics or
// hangs, and a connection whose stream is out of step is not reused.
func TestMalformedReplies(t *testing.T) {
	resp := protocol.Header{Cmd: protocol.CmdResp}
	tests := []struct {
		name        string
		reply       []byte
		wantInvalid bool
		pooled      bool // the reply was read to its end
	}{
		{"short store reply", append(protocol.Header{Length: 3, Cmd: protocol.CmdResp}.Bytes(), 1, 2, 3), true, true},
		{"wrong cmd", protocol.Header{Cmd: protocol.CmdUploadFile}.Bytes(), true, false},
		{"huge body", protocol.Header{Length: 1 << 40, Cmd: protocol.CmdResp}.Bytes(), true, false},
		{"negative length", protocol.Header{Length: -1, Cmd: protocol.CmdResp}.Bytes(), true, false},
		{"error with huge body", protocol.Header{Length: 1 << 40, Cmd: protocol.CmdResp, Status: protocol.ENOENT}.Bytes(), false, false},
		{"error with small body", append(protocol.Header{Length: 2, Cmd: protocol.CmdResp, Status: protocol.ENOENT}.Bytes(), 0, 0), false, true},
		{"empty reply", resp.Bytes(), true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := startFake(t, "127.0.0.2", func(h protocol.Header, body []byte, c net.Conn) bool {
				_, err := c.Write(tc.reply)
				return err == nil
			})
			cl := newTestClient(t, Config{Trackers: []string{tr.addr()}})
			_, err := cl.QueryStore(context.Background(), "")
			if err == nil {
				t.Fatal("malformed reply accepted")
			}
			if errors.Is(err, protocol.ErrInvalid) != tc.wantInvalid {
				t.Fatalf("err %v, want EINVAL: %v", err, tc.wantInvalid)
			}
			if got := cl.pool.idleCount(tr.addr()) == 1; got != tc.pooled {
				t.Fatalf("pooled %v, want %v", got, tc.pooled)
			}
		})
	}
}
