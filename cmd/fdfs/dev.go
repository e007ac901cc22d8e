package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/fdfsgo/fdfs/devcluster"
	"github.com/fdfsgo/fdfs/internal/grpcslog"
)

func init() {
	rootCmd.AddCommand(devCmd())
}

// devOpts is the command line of `fdfs dev`.
type devOpts struct {
	dataDir     string
	trackerPort int
	storagePort int
	baseIP      string
	logLevel    string
	logFile     string
}

// devCmd builds `fdfs dev`.
func devCmd() *cobra.Command {
	var (
		o  devOpts
		gw *devGateway
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run an all-in-one dev cluster (1 tracker + 2 storages of group1) in one process",
		Long: `Run a complete FastDFS cluster in this process: one tracker and two storage
servers of group1, each on its own loopback address (the tracker on --base-ip,
the storages on the next two addresses), so classic IP mode works.

Upstream-format tracker.conf, storage1.conf, storage2.conf and client.conf are
written into the data directory; reuse client.conf with the client commands or
with the C tools. Data survives restarts: run the command again on the same
directory to continue. Stop with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return runDev(o, gw)
		},
	}
	cmd.Flags().StringVar(&o.dataDir, "data", "./data", "directory for the conf files, data and logs (reused when it exists)")
	cmd.Flags().IntVar(&o.trackerPort, "tracker-port", devcluster.DefaultTrackerPort, "tracker port")
	cmd.Flags().IntVar(&o.storagePort, "storage-port", devcluster.DefaultStoragePort, "storage port (shared by both storages, as IP mode requires)")
	cmd.Flags().StringVar(&o.baseIP, "base-ip", "127.0.0.2", "loopback address of the tracker; the storages use the next two addresses")
	cmd.Flags().StringVar(&o.logLevel, "log-level", "info", "log level (debug, info, warn, error)")
	cmd.Flags().StringVar(&o.logFile, "log-file", "logs/dev.log", "server log file, relative to --data; \"-\" for stderr")
	gw = addDevGatewayFlags(cmd)
	return cmd
}

// runDev runs the dev cluster and its gateway gw until SIGINT or SIGTERM.
func runDev(o devOpts, gw *devGateway) error {
	ips, err := devIPs(o.baseIP)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(o.dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return err
	}
	logOut, logPath, closeLog, err := devLogOutput(abs, o.logFile)
	if err != nil {
		return err
	}
	defer closeLog()
	log, flushLog := batchedLogger(logOut, func(w io.Writer) slog.Handler {
		return slog.NewTextHandler(w, &slog.HandlerOptions{Level: slogLevel(o.logLevel)})
	})
	defer flushLog()
	grpcslog.Install(log.With("node", "gateway"))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fmt.Printf("starting the dev cluster in %s (log: %s) ...\n", abs, logPath)
	c, err := launchDev(ctx, o, abs, ips, log)
	if err != nil {
		return fmt.Errorf("dev cluster: %w", err)
	}
	if err := gw.start(c, log); err != nil {
		c.Close()
		return err
	}
	printDevBanner(os.Stdout, c, o.dataDir, logPath)
	gw.printBanner(os.Stdout)
	<-ctx.Done()
	stop()
	return stopDev(c, gw, abs)
}

// launchDev starts the tracker and the storages of the dev cluster in dir,
// on ips (the tracker's first).
func launchDev(ctx context.Context, o devOpts, dir string, ips []string, log *slog.Logger) (*devcluster.Cluster, error) {
	return devcluster.Launch(ctx, devcluster.Options{
		Dir:           dir,
		TrackerIP:     ips[0],
		StorageIPs:    ips[1:],
		TrackerPort:   o.trackerPort,
		StoragePort:   o.storagePort,
		LogLevel:      o.logLevel,
		Logger:        log,
		ActiveTimeout: 2 * time.Minute,
		// Short beats make status changes visible quickly; the
		// storages still behave as with the upstream defaults.
		HeartBeatInterval: 2,
		Progress:          func(step string) { fmt.Printf("  %s ...\n", step) },
	})
}

// stopDev stops the gateway gw, then the cluster c, whose data stays in
// dir.
func stopDev(c *devcluster.Cluster, gw *devGateway, dir string) error {
	fmt.Println("\nstopping the dev cluster ...")
	gw.stop()
	if err := c.Close(); err != nil {
		return fmt.Errorf("dev cluster: %w", err)
	}
	fmt.Println("stopped; data kept in", dir)
	return nil
}

// devIPs returns the tracker's and the two storages' addresses: base, base+1,
// base+2. The tracker must not be 127.0.0.1, which a storage takes for itself
// (protocol.md §14.10), and the last octets must not wrap.
func devIPs(base string) ([]string, error) {
	ip := net.ParseIP(base).To4()
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("--base-ip %q: want an IPv4 loopback address such as 127.0.0.2", base)
	}
	if ip.Equal(net.IPv4(127, 0, 0, 1)) {
		return nil, fmt.Errorf("--base-ip 127.0.0.1: storages refuse a tracker on 127.0.0.1; use 127.0.0.2")
	}
	if ip[3] == 0 || ip[3] > 252 {
		return nil, fmt.Errorf("--base-ip %s: the last octet must be 1..252 (the storages take the next two)", base)
	}
	out := make([]string, 3)
	for i := range out {
		next := net.IPv4(ip[0], ip[1], ip[2], ip[3]+byte(i))
		out[i] = next.String()
	}
	return out, nil
}

// devLogOutput opens the log destination: a file (relative to dir) that
// is appended to, or stderr for "-". It returns the writer, its name for
// the banner and a closer.
func devLogOutput(dir, name string) (io.Writer, string, func(), error) {
	if name == "-" {
		return os.Stderr, "stderr", func() {}, nil
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(dir, name)
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return nil, "", nil, err
	}
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, "", nil, err
	}
	return f, name, func() { f.Close() }, nil
}

func printDevBanner(w io.Writer, c *devcluster.Cluster, dataDir, logPath string) {
	clientConf := filepath.Join(dataDir, "client.conf")
	fmt.Fprintf(w, "\nFastDFS dev cluster is ready (data in %s)\n\n", c.Dir)
	fmt.Fprintf(w, "  tracker   %s   conf %s\n", c.Tracker.Addr(), c.Tracker.ConfPath)
	for _, s := range c.Storages {
		fmt.Fprintf(w, "  %s  %s   group %s, ACTIVE, HTTP on %s   conf %s\n", s.Name, s.Addr(), s.Group, s.HTTPAddr(), s.ConfPath)
	}
	fmt.Fprintf(w, "  client    %s\n", c.ClientConfPath)
	fmt.Fprintf(w, "  log       %s\n", logPath)
	fmt.Fprintf(w, "\nTry, in another terminal:\n\n")
	fmt.Fprintf(w, "  go run ./cmd/fdfs upload   --config %s README.md\n", clientConf)
	fmt.Fprintf(w, "  go run ./cmd/fdfs download --config %s <file-id> out.txt\n", clientConf)
	fmt.Fprintf(w, "  go run ./cmd/fdfs info     --config %s <file-id>\n", clientConf)
	fmt.Fprintf(w, "  go run ./cmd/fdfs delete   --config %s <file-id>\n", clientConf)
	fmt.Fprintf(w, "  go run ./cmd/fdfs monitor  --config %s\n", clientConf)
	fmt.Fprintf(w, "  curl http://%s/M00/00/00/<rest of the file-id>\n", c.Storages[0].HTTPAddr())
	fmt.Fprintf(w, "\nThe C tools accept the same file: fdfs_upload_file %s README.md\n", clientConf)
	fmt.Fprintf(w, "Press Ctrl-C to stop; run again on the same --data to continue.\n")
}
