//go:build linux

package e2e

import (
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// TestSplitWritesNotDelayed drives the tracker and a storage the way the C
// client library and fastdfs-client-java do: Nagle's algorithm on, one
// persistent connection, the 10-byte header and the body in separate
// writes. The client's kernel holds the body until the header is
// acknowledged, so a server that delays that ACK (Linux does on a reused,
// interactive connection) stalls every request for its delayed-ACK timer
// (at least 40 ms). The check is the kernel's own smoothed round-trip time
// of the client socket, which takes those stalls in: on loopback it stays
// far below the timer (tens of microseconds, against 20 ms once
// every request stalls) when the servers acknowledge at once.
func TestSplitWritesNotDelayed(t *testing.T) {
	t.Parallel()
	testSplitWrites(t, cluster.Start(t, cluster.Options{}))
}

// testSplitWrites is TestSplitWritesNotDelayed against c.
func testSplitWrites(t *testing.T, c *cluster.Cluster) {
	const requests = 40
	body := make([]byte, 5<<10)
	upload := (&protocol.UploadRequest{StorePathIndex: protocol.StoreAnyPath, FileSize: int64(len(body)), Ext: "bin"}).Encode()
	upload = append(upload, body...)
	for _, tc := range []struct {
		name string
		addr string
		cmd  byte
		body []byte
	}{
		{"tracker QUERY_STORE_WITH_GROUP_ONE", c.Tracker.Addr(), protocol.CmdQueryStoreWithGroupOne, protocol.EncodeGroup("group1")},
		{"storage UPLOAD_FILE", c.Storages[0].Addr(), protocol.CmdUploadFile, upload},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", tc.addr, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			tcp := conn.(*net.TCPConn)
			if err := tcp.SetNoDelay(false); err != nil {
				t.Fatal(err)
			}
			conn.SetDeadline(time.Now().Add(time.Minute))
			for i := range requests {
				h := protocol.Header{Length: int64(len(tc.body)), Cmd: tc.cmd}
				if _, err := conn.Write(h.Bytes()); err != nil {
					t.Fatal(err)
				}
				if _, err := conn.Write(tc.body); err != nil {
					t.Fatal(err)
				}
				rh, err := protocol.ReadHeader(conn)
				if err != nil || rh.Status != 0 {
					t.Fatalf("request %d: %+v, %v", i, rh, err)
				}
				if _, err := io.CopyN(io.Discard, conn, rh.Length); err != nil {
					t.Fatal(err)
				}
			}
			if rtt := smoothedRTT(t, tcp); rtt >= 5*time.Millisecond {
				t.Fatalf("smoothed RTT after %d requests is %v: the server delays its ACK of the header (the body waits for it)", requests, rtt)
			}
		})
	}
}

// smoothedRTT is the kernel's smoothed round-trip time of c (TCP_INFO).
func smoothedRTT(t *testing.T, c *net.TCPConn) time.Duration {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var info *unix.TCPInfo
	var ierr error
	if err := rc.Control(func(fd uintptr) { info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) }); err != nil {
		t.Fatal(err)
	}
	if ierr != nil {
		t.Skipf("no TCP_INFO here: %v", ierr)
	}
	return time.Duration(info.Rtt) * time.Microsecond
}
