package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/internal/logbuf"
	"github.com/fdfsgo/fdfs/internal/runas"
	"github.com/fdfsgo/fdfs/storagenode"
	"github.com/fdfsgo/fdfs/trackernode"
)

// server is what the tracker and storage daemons have in common.
type server interface {
	Start() error
	Addr() string
	Close() error
	Shutdown(ctx context.Context) error
}

// daemonKind is `fdfs tracker` or `fdfs storage`, and what they share
// with their upstream counterparts.
type daemonKind struct {
	name     string // the subcommand: tracker, storage
	upstream string // fdfs_trackerd, fdfs_storaged: the upstream program (argv[0]) and pid file name
	logName  string // trackerd, storaged: base_path/logs/<logName>.log in the background
	load     func(path string) (*daemonConf, error)
}

// daemonConf is a loaded conf file, as the process model needs it.
type daemonConf struct {
	base     string // base_path
	logLevel string
	errorLog conf.LogConfig // [error-log]: the log file's rotation
	raw      *conf.File
	addrs    []string                                  // what the daemon listens on, bound before the switch (internal/prebind)
	runBy    func(before func() error) (string, error) // switches user (before: what to open first), "" or whom it runs as now
	build    func(log *slog.Logger) (server, error)
}

var (
	trackerKind = daemonKind{name: "tracker", upstream: "fdfs_trackerd", logName: "trackerd", load: loadTracker}
	storageKind = daemonKind{name: "storage", upstream: "fdfs_storaged", logName: "storaged", load: loadStorage}
)

func init() {
	rootCmd.AddCommand(daemonCmd(trackerKind, "Run a tracker server"))
	rootCmd.AddCommand(daemonCmd(storageKind, "Run a storage server"))
}

func loadTracker(path string) (*daemonConf, error) {
	cfg, err := conf.LoadTracker(path)
	if err != nil {
		return nil, err
	}
	return newDaemonConf(cfg.Disabled, cfg.BasePath, cfg.LogLevel, cfg.ErrorLog, cfg.Raw,
		[2]string{cfg.RunByUser, cfg.RunByGroup}, trackernode.RunByLayout(cfg), trackernode.ListenAddrs(cfg),
		func(log *slog.Logger) (server, error) { return trackernode.New(cfg, log) })
}

func loadStorage(path string) (*daemonConf, error) {
	cfg, err := conf.LoadStorage(path)
	if err != nil {
		return nil, err
	}
	return newDaemonConf(cfg.Disabled, cfg.BasePath, cfg.LogLevel, cfg.ErrorLog, cfg.Raw,
		[2]string{cfg.RunByUser, cfg.RunByGroup}, storagenode.RunByLayout(cfg), storagenode.ListenAddrs(cfg),
		func(log *slog.Logger) (server, error) { return storagenode.New(cfg, log) })
}

// newDaemonConf is what both kinds share of a loaded conf file; runBy is
// run_by_user and run_by_group, addrs what the daemon listens on.
func newDaemonConf(disabled bool, base, logLevel string, errorLog conf.LogConfig, raw *conf.File,
	runByIDs [2]string, l runas.Layout, addrs []string, build func(*slog.Logger) (server, error)) (*daemonConf, error) {
	if disabled {
		return nil, errors.New("the config file is disabled (disabled = true)")
	}
	return &daemonConf{
		base: base, logLevel: logLevel, errorLog: errorLog, raw: raw, addrs: addrs, build: build,
		runBy: func(before func() error) (string, error) { return runBy(runByIDs[0], runByIDs[1], l, before) },
	}, nil
}

// logConfWarnings logs what upstream would have logged as warnings while
// loading the conf file (values it corrects or ignores), one line each.
func logConfWarnings(log *slog.Logger, f *conf.File) {
	if f == nil {
		return
	}
	for _, w := range f.Warnings {
		log.Warn("conf: " + w)
	}
}

// runBy makes the daemon run as run_by_user / run_by_group before it
// opens its data, as the C daemons do: started as root, it creates its
// directories, gives them to that user and switches (every thread, for
// good); started as that user, it has nothing to do; started as anybody
// else, it refuses, as upstream's does. before is called just before the
// switch (or at once when there is none): what it opens, it opens as
// root. It returns whom the daemon runs as when it switched.
func runBy(userName, groupName string, l runas.Layout, before func() error) (string, error) {
	if userName == "" && groupName == "" {
		return "", before()
	}
	t, err := runas.Resolve(userName, groupName)
	if err != nil {
		return "", err
	}
	switched, err := runas.Run(t, l, os.Geteuid(), os.Getegid(), before)
	if err != nil {
		return "", fmt.Errorf("run_by_user / run_by_group: %w", err)
	}
	if !switched {
		return "", nil
	}
	return t.String(), nil
}

// daemonCmd builds `fdfs tracker` / `fdfs storage`, with upstream's
// command line as well: the conf file as the first argument, an action
// (start, stop, restart), and, when the binary is called fdfs_trackerd or
// fdfs_storaged (main adds --daemon then), upstream's background mode
// unless -N.
func daemonCmd(k daemonKind, short string) *cobra.Command {
	var o daemonOpts
	cmd := &cobra.Command{
		Use:   k.name + " [--config FILE | FILE] [start|stop|restart|status]",
		Short: short,
		Long: short + ` from an upstream-format conf file, in the foreground (logging to stderr) or,
with --daemon or when called ` + k.upstream + ` (a link to this binary), in the background as
upstream's: the command returns once the daemon serves, which logs to
base_path/logs/` + k.logName + `.log and keeps its pid in base_path/data/` + k.upstream + `.pid;
"stop", "restart" and "status" find it there.`,
		Example: "  fdfs " + k.name + " --config /etc/fdfs/" + k.name + ".conf\n  " +
			k.upstream + " /etc/fdfs/" + k.name + ".conf restart",
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.version { // upstream's -V, which scripts parse
				fmt.Printf("\n%s V%s (fdfs)\n\n", k.upstream, trackernode.Version)
				return nil
			}
			o.action = "start"
			if o.confPath != "" && len(args) == 1 { // --config FILE ACTION
				args = []string{o.confPath, args[0]}
			}
			if len(args) > 0 {
				if o.confPath != "" && o.confPath != args[0] {
					return fmt.Errorf("conf file given twice: --config %s and %s", o.confPath, args[0])
				}
				o.confPath = args[0]
			}
			if len(args) == 2 {
				o.action = args[1]
			}
			if o.confPath == "" {
				return fmt.Errorf("no conf file: use fdfs %s --config %s.conf", k.name, k.name)
			}
			return runKind(cmd.Context(), k, o)
		},
	}
	cmd.Flags().StringVarP(&o.confPath, "config", "c", "", "upstream-format "+k.name+".conf")
	cmd.Flags().BoolVarP(&o.daemon, "daemon", "d", false, "run in the background as upstream's "+k.upstream+" (the default under that name)")
	cmd.Flags().BoolVarP(&o.noDaemon, "no-daemon", "N", false, "stay in the foreground (upstream's -N)")
	cmd.Flags().BoolVarP(&o.version, "version", "V", false, "print the FastDFS version this daemon is compatible with (upstream's -V)")
	cmd.Flags().StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile (go tool pprof) to this file until the daemon stops")
	return cmd
}

// runDaemon starts srv, calls started, and blocks until SIGINT or SIGTERM,
// then closes it and calls stopped. A second signal while closing kills
// the process the default way.
func runDaemon(ctx context.Context, name string, srv server, started func() error, stopped func()) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := srv.Start(); err != nil {
		srv.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := started(); err != nil {
		srv.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	defer stopped()
	slog.Info(name+" started", "addr", srv.Addr(), "pid", os.Getpid())
	<-ctx.Done()
	stop()
	slog.Info(name+" stopping", "addr", srv.Addr())
	if err := shutdown(srv); err != nil {
		return fmt.Errorf("%s: close: %w", name, err)
	}
	slog.Info(name + " stopped")
	return nil
}

// shutdownGrace bounds how long a stopping daemon lets the requests in
// progress finish.
const shutdownGrace = 30 * time.Second

// shutdown stops srv gracefully: the requests in progress are answered
// (for up to shutdownGrace), then it closes.
func shutdown(srv server) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	return srv.Shutdown(ctx)
}

// newLogger returns a text logger on w at the level named by an upstream
// log_level (syslog names: emerg alert crit error warn notice info debug).
// It also becomes the default logger, so daemon messages share the format.
func newLogger(w io.Writer, level string) *slog.Logger {
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slogLevel(level)}))
	slog.SetDefault(log)
	return log
}

// batchedLogger returns a logger whose output to w is batched (a write
// every 100 ms instead of one per line: the gateway logs every request),
// except that warnings and errors are written out at once. Call flush
// before exiting.
func batchedLogger(w io.Writer, handler func(io.Writer) slog.Handler) (log *slog.Logger, flush func()) {
	b := logbuf.New(w, 0, 0)
	return slog.New(logbuf.Handler(handler(b), b, slog.LevelWarn)), func() { b.Close() }
}

func slogLevel(level string) slog.Level {
	switch strings.ToLower(strings.TrimSpace(level)) {
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error", "err", "crit", "alert", "emerg":
		return slog.LevelError
	default: // info, notice, empty
		return slog.LevelInfo
	}
}

// startCPUProfile profiles the process's CPU into path until stop.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
