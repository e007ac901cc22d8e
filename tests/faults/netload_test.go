package faults

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// ackedFile is an acknowledged upload.
type ackedFile struct {
	id   string
	seed uint64
	size int
	at   time.Time
}

// phaseStats is what the load saw during one phase.
type phaseStats struct {
	name                          string
	uploads, uploadFails          int
	reads, readMissing, readWrong int
	readMissingYoung              int // ENOENT for a file acknowledged < readAge before
	readFails                     int // errors other than ENOENT: unreachable, timeout
	longestOp                     time.Duration
	statuses                      map[string]bool // storage 0's statuses seen
	daemonStall                   time.Duration
	outlived                      time.Duration // longest stall the heal ended
	held                          time.Duration // how long the fault was held
	caughtUp                      time.Duration // from the heal until both replicas had every file
	toOffline, toActive           time.Duration // from the fault until the tracker listed storage 0 OFFLINE, from the heal until both ACTIVE
	backlog                       [2]int        // files acknowledged during the fault that storage i lacked when it was lifted
}

// netLoad uploads (round robin over both storages) and reads files back
// the way a client reads: asks the tracker for a storage (QUERY_FETCH_ONE)
// and downloads there, checking the bytes.
type netLoad struct {
	cl     *client.Client
	mu     sync.Mutex
	acked  []ackedFile
	cur    *phaseStats
	phases []*phaseStats // every phase so far, cur last
	stop   chan struct{}
	wg     sync.WaitGroup
}

// uploadPause is each uploader's pause after an acknowledged upload: a
// steady load of about 10 files (330 KB) a second per uploader, not a
// benchmark that fills the disk.
const uploadPause = 100 * time.Millisecond

// readAge: a routed read of a file acknowledged at least this long before
// must never get ENOENT: unfaulted sync takes milliseconds. A younger file
// may be missing only where the tracker, with the source OFFLINE, falls
// back to the store server (upstream does the same); elsewhere the tracker
// sends a read to a replica only once its sync from the source has passed
// the file's timestamp, whatever the file's age.
const readAge = time.Second

func startNetLoad(cl *client.Client, uploaders, readers int) *netLoad {
	l := &netLoad{cl: cl, stop: make(chan struct{})}
	l.phase("warm-up")
	for w := range uploaders {
		l.wg.Add(1)
		go l.upload(uint64(w))
	}
	for w := range readers {
		l.wg.Add(1)
		go l.read(uint64(w))
	}
	return l
}

func (l *netLoad) stopAll() {
	close(l.stop)
	l.wg.Wait()
}

// phase starts counting into a new phaseStats and returns it.
func (l *netLoad) phase(name string) *phaseStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cur = &phaseStats{name: name, statuses: map[string]bool{}}
	l.phases = append(l.phases, l.cur)
	return l.cur
}

func (l *netLoad) record(f func(ps *phaseStats), took time.Duration) {
	l.mu.Lock()
	f(l.cur)
	l.cur.longestOp = max(l.cur.longestOp, took)
	l.mu.Unlock()
}

func (l *netLoad) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

func (l *netLoad) upload(w uint64) {
	defer l.wg.Done()
	r := rand.New(rand.NewPCG(w, 7))
	for n := uint64(0); !l.stopped(); n++ {
		seed := w<<32 | n
		size := 1 + r.IntN(64<<10)
		b := content(seed, size)
		for !l.stopped() {
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			start := time.Now()
			id, err := l.cl.Upload(ctx, bytes.NewReader(b), int64(size), client.UploadOptions{Ext: "bin"})
			cancel()
			took := time.Since(start)
			if err == nil {
				l.mu.Lock()
				l.acked = append(l.acked, ackedFile{id, seed, size, time.Now()})
				l.mu.Unlock()
				l.record(func(ps *phaseStats) { ps.uploads++ }, took)
				time.Sleep(uploadPause)
				break
			}
			l.record(func(ps *phaseStats) { ps.uploadFails++ }, took)
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (l *netLoad) read(w uint64) {
	defer l.wg.Done()
	r := rand.New(rand.NewPCG(w, 11))
	for !l.stopped() {
		l.mu.Lock()
		if len(l.acked) == 0 {
			l.mu.Unlock()
			time.Sleep(50 * time.Millisecond)
			continue
		}
		// Recent files: those the faults are about.
		f := l.acked[len(l.acked)-1-r.IntN(min(len(l.acked), 200))]
		l.mu.Unlock()
		start := time.Now()
		st, got, err := l.fetchRouted(f.id)
		took := time.Since(start)
		young := start.Sub(f.at) < readAge

		l.record(func(ps *phaseStats) {
			ps.reads++
			switch {
			case err != nil:
				ps.readFails++
			case st == protocol.ENOENT && young:
				ps.readMissingYoung++
			case st == protocol.ENOENT:
				ps.readMissing++
			case st != 0:
				ps.readFails++
			case !bytes.Equal(got, content(f.seed, f.size)):
				ps.readWrong++
			}
		}, took)
		time.Sleep(5 * time.Millisecond)
	}
}

// fetchRouted asks the tracker where to read id and downloads it there,
// each step bounded by the client's network timeout.
func (l *netLoad) fetchRouted(id string) (byte, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	srv, err := l.cl.QueryFetch(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	g, name, err := fileid.Split(id)
	if err != nil {
		return 0, nil, err
	}
	c, err := net.DialTimeout("tcp", srv.Addr(), netConnectTimeout*time.Second)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(netNetworkTimeout * time.Second))
	return downloadOn(c, g, name, 1<<20)
}

// since returns the files acknowledged at or after t.
func (l *netLoad) since(t time.Time) []ackedFile {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := sort.Search(len(l.acked), func(i int) bool { return !l.acked[i].at.Before(t) })
	return append([]ackedFile(nil), l.acked[i:]...)
}

func (ps *phaseStats) String() string {
	var st []string
	for s := range ps.statuses {
		st = append(st, s)
	}
	sort.Strings(st)
	return fmt.Sprintf("%-28s uploads %4d ok %3d failed | reads %4d, ENOENT %d (+%d young), wrong %d, failed %3d | longest client op %5.2fs | fault %4.1fs, longest stall closed %4.2fs, healed %4.2fs | storage 0: %s (OFFLINE after %.1fs, both ACTIVE %.1fs after the heal) | missing at the heal %d/%d, caught up %.2fs",
		ps.name, ps.uploads, ps.uploadFails, ps.reads, ps.readMissing, ps.readMissingYoung, ps.readWrong, ps.readFails,
		ps.longestOp.Seconds(), ps.held.Seconds(), ps.daemonStall.Seconds(), ps.outlived.Seconds(), strings.Join(st, ","), ps.toOffline.Seconds(), ps.toActive.Seconds(), ps.backlog[0], ps.backlog[1], ps.caughtUp.Seconds())
}
