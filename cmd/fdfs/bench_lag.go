package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

type lagOptions struct {
	concurrency int
	size        int64
	count       int
	group       string
	keep        bool
	poll        time.Duration // pause between two polls of one file
	limit       time.Duration // give up on a file after this long
}

func newBenchLagCmd() *cobra.Command {
	var o lagOptions
	var size string
	cmd := &cobra.Command{
		Use:   "bench-lag",
		Short: "Benchmark replication lag: time from upload acknowledged to the file on every replica",
		Long: `bench-lag uploads --count files of --size bytes with --concurrency workers and,
for each acknowledged upload, polls every ACTIVE storage of the file's group
with QUERY_FILE_INFO (one connection per poller and storage) until all of
them have it. It prints the upload rate and the replication lag percentiles
(acknowledgement → present on the last replica; resolution about --poll).
Files are deleted at the end unless --keep.`,
		Args: cobra.NoArgs,
	}
	cf := addClientFlags(cmd, false)
	cmd.Flags().IntVar(&o.concurrency, "concurrency", 4, "parallel uploaders (and twice as many pollers)")
	cmd.Flags().StringVar(&size, "size", "5KB", "file size (B, KB/KiB, MB/MiB, GB/GiB; 1K = 1024)")
	cmd.Flags().IntVar(&o.count, "count", 1000, "number of uploads")
	cmd.Flags().StringVarP(&o.group, "group", "g", "", "upload to this group")
	cmd.Flags().BoolVar(&o.keep, "keep", false, "keep the files created")
	cmd.Flags().DurationVar(&o.poll, "poll", time.Millisecond, "pause between two polls of a file")
	cmd.Flags().DurationVar(&o.limit, "limit", time.Minute, "count a file as not replicated after this long")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var err error
		if o.size, err = parseSize(size); err != nil {
			return err
		}
		if o.concurrency < 1 || o.count < 1 || o.poll <= 0 || o.limit <= 0 {
			return errors.New("--concurrency, --count, --poll and --limit must be positive")
		}
		cfg, err := cf.clientConfig()
		if err != nil {
			return err
		}
		cfg.MaxIdlePerHost = o.concurrency
		cl, err := client.New(cfg)
		if err != nil {
			return err
		}
		defer cl.Close()
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		res, err := runBenchLag(ctx, cl, o, cfg.NetworkTimeout)
		if res != nil {
			printLag(cmd.OutOrStdout(), o, res)
		}
		return err
	}
	return cmd
}

// lagResult is one bench-lag run.
type lagResult struct {
	mu        sync.Mutex
	lags      []time.Duration // per replicated file
	replicas  map[string]int  // group → ACTIVE storages polled
	uploaded  []string
	failed    int // uploads that failed
	lost      int // files not on every replica within the limit
	firstErr  error
	uploadDur time.Duration
}

func (r *lagResult) fail(err error, lost bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if lost {
		r.lost++
	} else {
		r.failed++
	}
	if r.firstErr == nil {
		r.firstErr = err
	}
}

// lagJob is an acknowledged upload to watch.
type lagJob struct {
	id    string
	acked time.Time
}

func runBenchLag(ctx context.Context, cl *client.Client, o lagOptions, timeout time.Duration) (*lagResult, error) {
	if timeout <= 0 {
		timeout = client.DefaultNetworkTimeout
	}
	res := &lagResult{replicas: map[string]int{}}
	peers := &replicaCache{cl: cl, groups: map[string][]string{}}
	jobs := make(chan lagJob, min(o.count, 4096)) // bounded: uploaders wait for slow pollers

	var pollers sync.WaitGroup
	for range 2 * o.concurrency {
		pollers.Add(1)
		go func() {
			defer pollers.Done()
			p := &filePoller{timeout: timeout, conns: map[string]net.Conn{}}
			defer p.close()
			for j := range jobs {
				group, name, err := fileid.Split(j.id)
				if err != nil {
					res.fail(err, true)
					continue
				}
				addrs, err := peers.get(ctx, group)
				if err != nil {
					res.fail(err, true)
					continue
				}
				lag, err := p.wait(ctx, addrs, group, name, j.acked, o.poll, o.limit)
				if err != nil {
					res.fail(fmt.Errorf("%s: %w", j.id, err), true)
					continue
				}
				res.mu.Lock()
				res.lags = append(res.lags, lag)
				res.replicas[group] = len(addrs)
				res.mu.Unlock()
			}
		}()
	}

	opt := client.UploadOptions{Group: o.group, Ext: "bin"}
	var next atomic.Int64
	var uploaders sync.WaitGroup
	start := time.Now()
	for range min(o.concurrency, o.count) {
		uploaders.Add(1)
		go func() {
			defer uploaders.Done()
			for ctx.Err() == nil && next.Add(1) <= int64(o.count) {
				id, err := cl.Upload(ctx, &patternReader{n: o.size}, o.size, opt)
				acked := time.Now()
				if err != nil {
					res.fail(err, false)
					continue
				}
				res.mu.Lock()
				res.uploaded = append(res.uploaded, id)
				res.mu.Unlock()
				jobs <- lagJob{id: id, acked: acked}
			}
		}()
	}
	uploaders.Wait()
	res.uploadDur = time.Since(start)
	close(jobs)
	pollers.Wait()

	if !o.keep {
		deleteAll(context.WithoutCancel(ctx), cl.Delete, res.uploaded, o.concurrency)
	}
	if res.failed > 0 || res.lost > 0 {
		return res, fmt.Errorf("%d uploads failed, %d files not replicated everywhere; first error: %w", res.failed, res.lost, res.firstErr)
	}
	return res, ctx.Err()
}

// replicaCache lists each group's ACTIVE storages once.
type replicaCache struct {
	cl     *client.Client
	mu     sync.Mutex
	groups map[string][]string
}

func (c *replicaCache) get(ctx context.Context, group string) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.groups[group]; ok {
		return a, nil
	}
	list, err := c.cl.ListStorages(ctx, group, "")
	if err != nil {
		return nil, err
	}
	var addrs []string
	for _, st := range list {
		if st.Status == protocol.StatusActive {
			addrs = append(addrs, net.JoinHostPort(st.IP, strconv.FormatInt(st.StoragePort, 10)))
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("group %s has no ACTIVE storage: %w", group, protocol.ErrNotFound)
	}
	c.groups[group] = addrs
	return addrs, nil
}

// filePoller asks storages whether they have a file, over one kept
// connection per storage.
type filePoller struct {
	timeout time.Duration
	conns   map[string]net.Conn
}

func (p *filePoller) close() {
	for _, c := range p.conns {
		c.Close()
	}
}

// has reports whether the storage at addr has the file (QUERY_FILE_INFO
// without CRC: ENOENT means not yet).
func (p *filePoller) has(addr, group, name string) (bool, error) {
	c := p.conns[addr]
	if c == nil {
		var err error
		if c, err = net.DialTimeout("tcp", addr, p.timeout); err != nil {
			return false, err
		}
		p.conns[addr] = c
	}
	c.SetDeadline(time.Now().Add(p.timeout))
	req := protocol.FileRequest{Group: group, Name: name}
	err := protocol.WritePacket(c, protocol.CmdQueryFileInfo, protocol.FileInfoNoCRC, req.Encode())
	if err == nil {
		_, err = protocol.ReadResponse(c, 1<<10)
	}
	if errors.Is(err, protocol.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		c.Close()
		delete(p.conns, addr)
		return false, err
	}
	return true, nil
}

// wait polls until every storage has the file and returns the lag from
// acked to the moment the last one was seen with it.
func (p *filePoller) wait(ctx context.Context, addrs []string, group, name string, acked time.Time, poll, limit time.Duration) (time.Duration, error) {
	left := slices.Clone(addrs)
	var lastErr error
	for {
		now := time.Now()
		for i := 0; i < len(left); {
			ok, err := p.has(left[i], group, name)
			if err != nil {
				lastErr = err
			}
			if ok {
				left = slices.Delete(left, i, i+1)
				continue
			}
			i++
		}
		if len(left) == 0 {
			return now.Sub(acked), nil
		}
		if time.Since(acked) > limit {
			return 0, fmt.Errorf("not on %v after %s (last error %v)", left, limit, lastErr)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(poll):
		}
	}
}

func printLag(w io.Writer, o lagOptions, r *lagResult) {
	lat := r.lags
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))].Round(time.Microsecond)
	}
	fmt.Fprintf(w, "op=lag size=%d concurrency=%d count=%d poll=%s replicas=%v\n", o.size, o.concurrency, o.count, o.poll, r.replicas)
	fmt.Fprintf(w, "uploaded=%d failed=%d uploads/s=%.1f replicated=%d not_replicated=%d\n",
		len(r.uploaded), r.failed, float64(len(r.uploaded))/r.uploadDur.Seconds(), len(lat), r.lost)
	fmt.Fprintf(w, "lag p50=%s p90=%s p99=%s max=%s\n", pct(0.50), pct(0.90), pct(0.99), pct(1))
}

func init() { rootCmd.AddCommand(newBenchLagCmd()) }
