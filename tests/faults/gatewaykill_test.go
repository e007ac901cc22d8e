package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/apiclient"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

// The gateway kill test's daemons: tracker .186, storage .187, gateway .189.
const (
	gkTrackerIP = "127.0.0.186"
	gkStorageIP = "127.0.0.187"
	gkGatewayIP = "127.0.0.189"

	gkKills     = 10
	gkLargeSize = 8 << 20 // bytes of a large upload
)

// ackedSet is the uploads the clients saw acknowledged: file ID -> seed
// and size of the content.
type ackedSet struct {
	mu  sync.Mutex
	ids map[string][2]uint64
}

func (a *ackedSet) add(id string, seed uint64, n int) {
	a.mu.Lock()
	a.ids[id] = [2]uint64{seed, uint64(n)}
	a.mu.Unlock()
}

// pick returns one acknowledged ID (any) and its content.
func (a *ackedSet) pick(i int) (string, []byte, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.ids) == 0 {
		return "", nil, false
	}
	i %= len(a.ids)
	for id, v := range a.ids {
		if i == 0 {
			return id, content(v[0], int(v[1])), true
		}
		i--
	}
	return "", nil, false
}

// want maps every acknowledged ID to its content, for cluster.verify.
func (a *ackedSet) want() map[string]func() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	w := make(map[string]func() []byte, len(a.ids))
	for id, v := range a.ids {
		w[id] = func() []byte { return content(v[0], int(v[1])) }
	}
	return w
}

// midway is a large upload's content: once half of it was read (the rest
// is still in the client) it sends sig on reached and holds the rest back
// until release is closed or 5 s have passed, so that the kill comes
// while the upload is in flight.
type midway struct {
	r       io.Reader
	read    int
	sig     halfway
	reached chan<- halfway
	release <-chan struct{}
	told    bool
}

// halfway says which kind of large upload reached half-way, through which
// gateway process (its start count).
type halfway struct{ kind, gen int }

func (m *midway) Read(p []byte) (int, error) {
	const half = gkLargeSize / 2
	if !m.told && m.read >= half {
		m.told = true
		select {
		case m.reached <- m.sig:
		default:
		}
		select {
		case <-m.release:
		case <-time.After(5 * time.Second):
		}
	}
	if !m.told {
		p = p[:min(len(p), half-m.read)]
	}
	n, err := m.r.Read(p)
	m.read += n
	return n, err
}

// gkLoad is the clients of TestGatewayKill9.
type gkLoad struct {
	g       *gateway
	acked   ackedSet
	seed    atomic.Uint64
	reached chan halfway
	gen     atomic.Int64 // gateway starts so far
	mu      sync.Mutex
	release chan struct{} // closed and replaced at each kill

	upOK, upFailed                   [4]atomic.Int64 // by uploader kind
	readOK, readFailed, readWrong    atomic.Int64
	lastUpErr, lastReadErr, wrongErr atomic.Value
}

// The kinds of uploader.
const (
	gkGRPCSmall = iota
	gkGRPCLarge
	gkRESTSmall
	gkRESTLarge
)

var gkKindNames = [4]string{"gRPC 1-64 KB", "gRPC 8 MiB stream", "REST 1-64 KB", "REST 8 MiB chunked"}

// releaseCh is the channel the next kill closes.
func (l *gkLoad) releaseCh() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.release
}

// freeLarge lets the held-back large uploads go on (the kill is done).
func (l *gkLoad) freeLarge() {
	l.mu.Lock()
	close(l.release)
	l.release = make(chan struct{})
	l.mu.Unlock()
}

// upload runs uploads of one kind until ctx ends; a failed one is retried
// with the same bytes until acknowledged.
func (l *gkLoad) upload(ctx context.Context, kind int) {
	for ctx.Err() == nil {
		seed := l.seed.Add(1)
		n := 1<<10 + int(seed*7919%(63<<10))
		if kind == gkGRPCLarge || kind == gkRESTLarge {
			n = gkLargeSize
		}
		b := content(seed, n)
		for ctx.Err() == nil {
			id, err := l.uploadOnce(ctx, kind, b)
			if err == nil {
				l.acked.add(id, seed, n)
				l.upOK[kind].Add(1)
				break
			}
			if ctx.Err() != nil {
				return
			}
			l.upFailed[kind].Add(1)
			l.lastUpErr.Store(fmt.Sprintf("%s: %v", gkKindNames[kind], err))
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// uploadOnce uploads b once, as kind says; the new file ID.
func (l *gkLoad) uploadOnce(ctx context.Context, kind int, b []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	var r io.Reader = bytes.NewReader(b)
	if len(b) == gkLargeSize {
		r = &midway{r: r, sig: halfway{kind, int(l.gen.Load())}, reached: l.reached, release: l.releaseCh()}
	}
	if kind == gkGRPCSmall || kind == gkGRPCLarge {
		resp, err := apiclient.Upload(withKey(ctx, rwKey), l.g.files, &fastdfsv1.UploadSpec{Ext: "bin", Size: int64(len(b))}, r)
		if err != nil {
			return "", err
		}
		return resp.FileId, nil
	}
	if kind == gkRESTLarge {
		r = io.MultiReader(r) // hides the length: a chunked body
	}
	req, err := http.NewRequestWithContext(ctx, "POST", l.g.url("/v1/files?ext=bin"), r)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+rwKey)
	resp, err := l.g.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("%s: %s", resp.Status, body)
	}
	var out struct{ FileID string }
	if err := json.Unmarshal(body, &out); err != nil || out.FileID == "" {
		return "", fmt.Errorf("upload reply %q: %v", body, err)
	}
	return out.FileID, nil
}

// read downloads acknowledged files until ctx ends, over gRPC or REST.
func (l *gkLoad) read(ctx context.Context, rest bool) {
	for i := 0; ctx.Err() == nil; i++ {
		id, want, ok := l.acked.pick(i * 7)
		if !ok {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		got, err := l.download(ctx, id, rest)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			l.readFailed.Add(1)
			l.lastReadErr.Store(err.Error())
			time.Sleep(20 * time.Millisecond)
		case !bytes.Equal(got, want):
			l.readWrong.Add(1)
			l.wrongErr.Store(fmt.Sprintf("%s: %d bytes that differ from the %d acknowledged", id, len(got), len(want)))
		default:
			l.readOK.Add(1)
		}
	}
}

// download reads id whole over gRPC or REST.
func (l *gkLoad) download(ctx context.Context, id string, rest bool) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	var buf bytes.Buffer
	if !rest {
		_, err := apiclient.Download(withKey(ctx, roKey), l.g.files, &fastdfsv1.DownloadFileRequest{FileId: id}, &buf)
		return buf.Bytes(), err
	}
	req, err := http.NewRequestWithContext(ctx, "GET", l.g.url("/v1/files/"+id+":download"), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+roKey)
	resp, err := l.g.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(&buf, resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(resp.Status)
	}
	return buf.Bytes(), nil
}

// storedIDs lists the file IDs a store path holds (group1/M00/...).
func storedIDs(t *testing.T, store string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	data := filepath.Join(store, "data")
	err := filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") || strings.HasSuffix(d.Name(), "-m") {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(data, p)
		out[group+"/M00/"+filepath.ToSlash(rel)] = info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGatewayKill9 kills the gateway with SIGKILL 10 times while gRPC and
// REST clients upload (1-64 KB, and 8 MiB streams held half-way until the
// kill) and download, restarting it each time. Every upload a client saw
// acknowledged must be on the storage with its bytes; no read may return
// other bytes; no temp file may stay on the storage or in the spool
// directory. Uploads stored but never acknowledged (orphans) are counted.
func TestGatewayKill9(t *testing.T) {
	needBinary(t)
	c := startCluster(t, gkTrackerIP, gkStorageIP)
	g := startGateway(t, c.tracker.addr, gkGatewayIP)
	l := &gkLoad{g: g, acked: ackedSet{ids: map[string][2]uint64{}},
		reached: make(chan halfway, 16), release: make(chan struct{})}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, kind := range []int{gkGRPCSmall, gkGRPCSmall, gkGRPCLarge, gkRESTSmall, gkRESTSmall, gkRESTLarge} {
		wg.Go(func() { l.upload(ctx, kind) })
	}
	wg.Go(func() { l.read(ctx, false) })
	wg.Go(func() { l.read(ctx, true) })
	stop := func() {
		cancel()
		l.freeLarge()
		wg.Wait()
	}
	defer stop()

	rss, midKills := l.killRepeatedly(t, g)
	testwait.Until(t, waitLimit, "uploads acknowledged after the last restart", func() bool {
		return l.upOK[gkGRPCLarge].Load() > 0 && l.upOK[gkRESTLarge].Load() > 0
	})
	l.waitSmall(t, 20, "after the last restart")
	stop()
	rss["idle"] = rssKB(t, g.proc)
	l.report(t, midKills, rss)
	checkStore(t, c, g, l.acked.want())
}

// waitSmall waits until n more small uploads are acknowledged.
func (l *gkLoad) waitSmall(t *testing.T, n int, when string) {
	t.Helper()
	small := func() int64 { return l.upOK[gkGRPCSmall].Load() + l.upOK[gkRESTSmall].Load() }
	before := small()
	testwait.Until(t, waitLimit, fmt.Sprintf("%d more small uploads %s", n, when), func() bool {
		return small() >= before+int64(n)
	})
}

// killRepeatedly kills and restarts the gateway gkKills times, each time
// once both kinds of 8 MiB upload are half-way (if they get there within
// 10 s) and 10 more small uploads were acknowledged. It returns the
// gateway's VmRSS (kB) and the number of kills with both half-way.
func (l *gkLoad) killRepeatedly(t *testing.T, g *gateway) (map[string]int, int) {
	t.Helper()
	rss := map[string]int{"before": rssKB(t, g.proc)}
	midKills := 0
	for i := range gkKills {
		l.waitSmall(t, 10, fmt.Sprintf("before kill %d", i+1))
		if l.bothHalfway(10 * time.Second) {
			midKills++
		}
		if i == 0 {
			rss["at the first kill"] = rssKB(t, g.proc)
		}
		g.kill()
		l.gen.Add(1)
		l.freeLarge()
		time.Sleep(300 * time.Millisecond)
		g.start(t)
	}
	rss["after the restarts"] = rssKB(t, g.proc)
	return rss, midKills
}

// bothHalfway waits up to limit until both kinds of 8 MiB upload are
// half-way through the running gateway.
func (l *gkLoad) bothHalfway(limit time.Duration) bool {
	seen := map[int]bool{}
	both := func() bool { return seen[gkGRPCLarge] && seen[gkRESTLarge] }
	timeout := time.After(limit)
	for !both() {
		select {
		case h := <-l.reached:
			if h.gen == int(l.gen.Load()) {
				seen[h.kind] = true
			}
		case <-timeout:
			return false
		}
	}
	return true
}

// report logs what the clients saw and fails the test on a wrong read.
func (l *gkLoad) report(t *testing.T, midKills int, rss map[string]int) {
	t.Helper()
	for k, name := range gkKindNames {
		t.Logf("%-20s acknowledged %d, failed-but-retried %d", name, l.upOK[k].Load(), l.upFailed[k].Load())
	}
	t.Logf("kills %d (%d with both 8 MiB uploads half-way); reads right %d, failed %d, wrong %d",
		gkKills, midKills, l.readOK.Load(), l.readFailed.Load(), l.readWrong.Load())
	t.Logf("last upload error: %v; last read error: %v", l.lastUpErr.Load(), l.lastReadErr.Load())
	t.Logf("gateway VmRSS kB: %v", rss)
	if n := l.readWrong.Load(); n > 0 {
		t.Errorf("%d reads returned other bytes, e.g. %v", n, l.wrongErr.Load())
	}
}

// checkStore checks every acknowledged upload on the storage, byte for
// byte, counts the orphans, and checks that no temp or spool file is left.
func checkStore(t *testing.T, c *cluster, g *gateway, want map[string]func() []byte) {
	t.Helper()
	lost, corrupt := c.verify(t, want)
	stored := storedIDs(t, c.storePaths[0])
	orphans, orphanBytes := 0, int64(0)
	for id, n := range stored {
		if _, ok := want[id]; !ok {
			orphans++
			orphanBytes += n
		}
	}
	t.Logf("acknowledged %d, stored %d, lost %d, corrupt %d, orphans (stored, never acknowledged) %d (%d bytes)",
		len(want), len(stored), lost, corrupt, orphans, orphanBytes)
	testwait.Until(t, waitLimit, "no upload temp file on the storage", func() bool { return len(tempFiles(c.storePaths[0])) == 0 })
	if left, _ := os.ReadDir(g.spool); len(left) > 0 {
		t.Errorf("%d files left in the gateway's spool directory, e.g. %s", len(left), left[0].Name())
	}
}
