package trackernode

import (
	"context"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/wiretest"
)

// goroutineServed moves c's connection from the event loop to serveConn
// (a GET_LEADER needs the connection's state), where a request in
// progress is answered before the connection closes; the loop drops a
// request it holds only part of (the client sees the connection close).
func goroutineServed(c *wiretest.Client) {
	c.Do(protocol.CmdServerGetLeader, nil)
}

// Shutdown answers the request in progress, closes idle connections at
// once, closes the busy one after its answer, and accepts nothing new.
func TestShutdown(t *testing.T) {
	cfg := traceConfig(t, "ip")
	s := startServer(t, cfg)
	activeStorage(t, s, "127.0.0.3", "group1", 23000, 1000, 900)
	idle := wiretest.Dial(t, s.Addr())
	idle.OK(protocol.CmdServerListAllGroups)
	busy := wiretest.Dial(t, s.Addr())
	goroutineServed(busy)
	body := protocol.EncodeGroup("group1")
	// The header is in, the body not yet: the request is in progress.
	hdr := protocol.Header{Length: int64(len(body)), Cmd: protocol.CmdServerListStorage}.Bytes()
	if _, err := busy.Conn.Write(hdr); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the server reads the header

	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	if !idle.Closed(5 * time.Second) {
		t.Fatal("idle connection still open during shutdown")
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) with a request in progress", err)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := busy.Conn.Write(body); err != nil {
		t.Fatal(err)
	}
	h, b := busy.Read()
	if h.Status != 0 || len(b) == 0 {
		t.Fatalf("request in progress answered status %d with %d bytes, want the storage list", h.Status, len(b))
	}
	if !busy.Closed(5 * time.Second) {
		t.Fatal("connection left open after its answer during shutdown")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return once the request was answered")
	}
	// As after Close, the storage's ACTIVE status was saved for a warm restart.
	if st := statusOf(t, startServer(t, cfg), "group1", "127.0.0.3"); st != protocol.StatusActive {
		t.Fatalf("storage status %d after a restart, want ACTIVE kept", st)
	}
}

// A request that outlives the grace is cut.
func TestShutdownGrace(t *testing.T) {
	s := startServer(t, traceConfig(t, "ip"))
	busy := wiretest.Dial(t, s.Addr())
	goroutineServed(busy)
	hdr := protocol.Header{Length: protocol.GroupNameLen, Cmd: protocol.CmdServerListStorage}.Bytes()
	if _, err := busy.Conn.Write(hdr); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if !busy.Closed(5 * time.Second) {
		t.Fatal("request past the grace not cut")
	}
}
