package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

type benchOptions struct {
	concurrency int
	size        int64 // bytes per file
	count       int   // operations
	op          string
	group       string
	keep        bool
	// readRouteTTL is client.Config.ReadRouteTTL.
	readRouteTTL time.Duration
	// settle is a pause between preparing the download files and starting
	// the clock, so that their replication does not compete with the run.
	settle time.Duration
	// serverPIDs are processes whose CPU time is reported beside the
	// benchmark's own (the servers under test, when on this machine).
	serverPIDs []int
}

// addCPUFlag registers --server-pid.
func addCPUFlag(cmd *cobra.Command, o *benchOptions) {
	cmd.Flags().IntSliceVar(&o.serverPIDs, "server-pid", nil,
		"also report the CPU time these processes (the servers under test, on this machine) spend during the measured part (Linux)")
}

func newBenchCmd() *cobra.Command {
	var o benchOptions
	var size string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark a cluster: ops/s, MB/s and latency percentiles of uploads and downloads",
		Long: `bench runs --count operations with --concurrency workers against the cluster.
--op upload uploads generated content of --size bytes; download first uploads a
set of files (not measured) and then downloads them round robin; mixed alternates
uploads and downloads; view reads a file's metadata and then the file (a page
view of a site that keeps an image's size in its metadata; native only). Files
created are deleted at the end unless --keep.
Content is generated on the fly, so --size 1GiB --count 1 measures big-file
throughput without holding the file in memory.`,
		Args: cobra.NoArgs,
	}
	cf := addClientFlags(cmd, false)
	cmd.Flags().IntVar(&o.concurrency, "concurrency", 16, "parallel workers")
	cmd.Flags().StringVar(&size, "size", "5KB", "file size (B, KB/KiB, MB/MiB, GB/GiB; 1K = 1024)")
	cmd.Flags().IntVar(&o.count, "count", 1000, "number of operations")
	cmd.Flags().StringVar(&o.op, "op", "upload", "upload, download, mixed or view")
	cmd.Flags().StringVarP(&o.group, "group", "g", "", "upload to this group")
	cmd.Flags().BoolVar(&o.keep, "keep", false, "keep the files created")
	cmd.Flags().DurationVar(&o.settle, "settle", 0, "pause after preparing the files to download, before the clock starts (lets their replication finish)")
	addCPUFlag(cmd, &o)
	profile := cmd.Flags().String("client-profile", "go",
		"go: this client's own connections; c: write like the C client library and fastdfs-client-java (Nagle's algorithm on, the file content in a write after the header)")
	cmd.Flags().DurationVar(&o.readRouteTTL, "read-route-ttl", 0,
		"cache which storages serve reads of a file for this long, as the gateway does (0: ask the tracker for every download, as upstream clients do)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var err error
		if o.size, err = parseSize(size); err != nil {
			return err
		}
		if o.concurrency < 1 || o.count < 1 {
			return errors.New("--concurrency and --count must be at least 1")
		}
		if o.op != "upload" && o.op != "download" && o.op != "mixed" && o.op != "view" {
			return fmt.Errorf("--op %q: want upload, download, mixed or view", o.op)
		}
		cfg, err := cf.clientConfig()
		if err != nil {
			return err
		}
		// Measure the servers, not connection setup: keep one pooled
		// connection per worker and server even if client.conf says
		// use_connection_pool = false.
		cfg.MaxIdlePerHost = o.concurrency
		cfg.ReadRouteTTL = o.readRouteTTL
		switch *profile {
		case "go":
		case "c":
			cfg.Nagle = true
		default:
			return fmt.Errorf("--client-profile %q: want go or c", *profile)
		}
		cl, err := client.New(cfg)
		if err != nil {
			return err
		}
		t := &nativeTarget{cl: cl, opt: client.UploadOptions{Group: o.group, Ext: "bin"}}
		defer t.close()
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return runBench(ctx, cmd.OutOrStdout(), t, o)
	}
	return cmd
}

// discard is the benchmarks' sink for downloaded bytes (native and REST
// alike). Unlike io.Discard, which reads 8 KiB per call, it reads up to
// 1 MiB per call, so the client's syscalls do not limit big downloads.
type discard struct{}

var discardBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func (discard) ReadFrom(r io.Reader) (int64, error) {
	bp := discardBufs.Get().(*[]byte)
	defer discardBufs.Put(bp)
	var total int64
	for {
		n, err := r.Read(*bp)
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// settle waits d (if positive) before a measured run.
func settle(ctx context.Context, w io.Writer, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	fmt.Fprintf(w, "settling for %v...\n", d)
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// parseSize parses "5KB", "1GiB", "512", "2m": binary units, as FastDFS
// configuration sizes.
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

// patternReader yields n bytes of a fixed pseudo-random 64 KiB pattern:
// upload content for any size without holding it in memory.
type patternReader struct {
	n   int64
	off int
}

var pattern = func() []byte {
	b := make([]byte, 64<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}()

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	n := 0
	for n < len(b) {
		c := copy(b[n:], pattern[p.off:])
		n += c
		p.off = (p.off + c) % len(pattern)
	}
	p.n -= int64(n)
	return n, nil
}

// benchResult accumulates one run's measurements.
type benchResult struct {
	mu        sync.Mutex
	latencies []time.Duration
	bytes     int64
	failed    int
	firstErr  error
	created   []string
}

func (r *benchResult) record(d time.Duration, n int64, id string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.failed++
		if r.firstErr == nil {
			r.firstErr = err
		}
		return
	}
	r.latencies = append(r.latencies, d)
	r.bytes += n
	if id != "" {
		r.created = append(r.created, id)
	}
}

// benchTarget is one way to reach the cluster: the native protocol, or
// one of the gateway's APIs (bench-api). Worker w may keep per-worker
// state (a connection, a buffer).
type benchTarget interface {
	name() string
	upload(ctx context.Context, w int, size int64) (string, error)
	download(ctx context.Context, w int, id string) (int64, error)
	remove(ctx context.Context, id string) error
	close()
}

// nativeTarget runs the operations with the FastDFS protocol: a tracker
// query and a storage command each.
type nativeTarget struct {
	cl  *client.Client
	opt client.UploadOptions
}

func (t *nativeTarget) name() string { return "native" }

func (t *nativeTarget) upload(ctx context.Context, _ int, size int64) (string, error) {
	return t.cl.Upload(ctx, &patternReader{n: size}, size, t.opt)
}

func (t *nativeTarget) download(ctx context.Context, _ int, id string) (int64, error) {
	return t.cl.Download(ctx, id, 0, 0, discard{})
}

func (t *nativeTarget) remove(ctx context.Context, id string) error { return t.cl.Delete(ctx, id) }

// viewMeta is the metadata --op view gives the files it prepares.
var viewMeta = map[string]string{"width": "1920", "height": "1080", "author": "bench"}

func (t *nativeTarget) setViewMeta(ctx context.Context, id string) error {
	return t.cl.SetMetadata(ctx, id, viewMeta, protocol.MetaOverwrite)
}

func (t *nativeTarget) view(ctx context.Context, w int, id string) (int64, error) {
	if _, err := t.cl.GetMetadata(ctx, id); err != nil {
		return 0, err
	}
	return t.download(ctx, w, id)
}

// viewTarget is a target that --op view can run on.
type viewTarget interface {
	setViewMeta(ctx context.Context, id string) error
	view(ctx context.Context, w int, id string) (int64, error)
}

func (t *nativeTarget) close() { t.cl.Close() }

// runBench runs o.count operations on t with o.concurrency workers and
// prints the figures. Downloads (and the downloads of mixed, which
// alternates) go round robin over files uploaded before the clock starts.
// Files created are deleted at the end unless o.keep.
func runBench(ctx context.Context, w io.Writer, t benchTarget, o benchOptions) error {
	fmt.Fprintf(w, "== %s\n", t.name())
	vt, _ := t.(viewTarget)
	if o.op == "view" && vt == nil {
		return fmt.Errorf("%s: --op view reads metadata with the native protocol only", t.name())
	}
	var seed []string
	if o.op != "upload" {
		n := min(o.count, 4*o.concurrency)
		fmt.Fprintf(w, "preparing %d files of %d bytes...\n", n, o.size)
		for range n {
			id, err := t.upload(ctx, 0, o.size)
			if err == nil && vt != nil && o.op == "view" {
				err = vt.setViewMeta(ctx, id)
			}
			if err != nil {
				return fmt.Errorf("%s: preparing download files: %w", t.name(), err)
			}
			seed = append(seed, id)
		}
		if err := settle(ctx, w, o.settle); err != nil {
			return err
		}
	}
	res := &benchResult{latencies: make([]time.Duration, 0, o.count)}
	var next atomic.Int64
	var wg sync.WaitGroup
	cpu := &cpuMeter{pids: o.serverPIDs}
	cpu.start()
	start := time.Now()
	for worker := range min(o.concurrency, o.count) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(o.count) {
					return
				}
				t0 := time.Now()
				if o.op == "upload" || o.op == "mixed" && i%2 == 0 {
					id, err := t.upload(ctx, worker, o.size)
					res.record(time.Since(t0), o.size, id, err)
					continue
				}
				read := t.download
				if o.op == "view" {
					read = vt.view
				}
				n, err := read(ctx, worker, seed[int(i)%len(seed)])
				res.record(time.Since(t0), n, "", err)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu.stop()
	printBench(w, o, res, elapsed)
	fmt.Fprintln(w, cpu.report(len(res.latencies)))
	if !o.keep {
		deleteAll(context.WithoutCancel(ctx), t.remove, append(seed, res.created...), o.concurrency)
	}
	if res.failed > 0 {
		return fmt.Errorf("%s: %d of %d operations failed, first: %w", t.name(), res.failed, o.count, res.firstErr)
	}
	return ctx.Err()
}

func printBench(w io.Writer, o benchOptions, r *benchResult, elapsed time.Duration) {
	lat := r.latencies
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	secs := elapsed.Seconds()
	fmt.Fprintf(w, "op=%s size=%d concurrency=%d count=%d\n", o.op, o.size, o.concurrency, o.count)
	fmt.Fprintf(w, "ok=%d failed=%d elapsed=%s\n", len(lat), r.failed, elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "ops/s=%.1f MB/s=%.2f\n", float64(len(lat))/secs, float64(r.bytes)/1e6/secs)
	fmt.Fprintf(w, "latency p50=%s p90=%s p99=%s max=%s\n",
		pct(0.50).Round(time.Microsecond), pct(0.90).Round(time.Microsecond),
		pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
}

// deleteAll deletes the files with n workers through remove, ignoring
// failures (best effort: a benchmark's cleanup).
func deleteAll(ctx context.Context, remove func(context.Context, string) error, ids []string, n int) {
	ch := make(chan string)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for id := range ch {
				remove(ctx, id)
			}
		})
	}
	for _, id := range ids {
		ch <- id
	}
	close(ch)
	wg.Wait()
}

func init() { rootCmd.AddCommand(newBenchCmd()) }
