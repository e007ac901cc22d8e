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

func init() {
	rootCmd.AddCommand(daemonCmd("tracker", "Run a tracker server in the foreground",
		"fdfs tracker --config /etc/fdfs/tracker.conf",
		func(path string) (server, error) {
			cfg, err := conf.LoadTracker(path)
			if err != nil {
				return nil, err
			}
			if cfg.Disabled {
				return nil, errors.New("the config file is disabled (disabled = true)")
			}
			log := newLogger(os.Stderr, cfg.LogLevel).With("node", "tracker")
			logConfWarnings(log, cfg.Raw)
			if err := runBy(log, cfg.RunByUser, cfg.RunByGroup, trackernode.RunByLayout(cfg)); err != nil {
				return nil, err
			}
			srv, err := trackernode.New(cfg, log)
			return srv, err
		}))
	rootCmd.AddCommand(daemonCmd("storage", "Run a storage server in the foreground",
		"fdfs storage --config /etc/fdfs/storage.conf",
		func(path string) (server, error) {
			cfg, err := conf.LoadStorage(path)
			if err != nil {
				return nil, err
			}
			if cfg.Disabled {
				return nil, errors.New("the config file is disabled (disabled = true)")
			}
			log := newLogger(os.Stderr, cfg.LogLevel).With("node", "storage")
			logConfWarnings(log, cfg.Raw)
			if err := runBy(log, cfg.RunByUser, cfg.RunByGroup, storagenode.RunByLayout(cfg)); err != nil {
				return nil, err
			}
			srv, err := storagenode.New(cfg, log)
			return srv, err
		}))
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
// else, it refuses, as upstream's does.
func runBy(log *slog.Logger, userName, groupName string, l runas.Layout) error {
	if userName == "" && groupName == "" {
		return nil
	}
	t, err := runas.Resolve(userName, groupName)
	if err != nil {
		return err
	}
	switched, err := runas.Run(t, l, os.Geteuid(), os.Getegid())
	if err != nil {
		return fmt.Errorf("run_by_user / run_by_group: %w", err)
	}
	if switched {
		log.Info("running as " + t.String())
	}
	return nil
}

// daemonCmd builds `fdfs tracker` / `fdfs storage`. The conf path comes from
// --config or, like the upstream fdfs_trackerd/fdfs_storaged, from the first
// argument; an upstream trailing "start" is accepted, other actions are not
// (the daemons run in the foreground; use a service manager to stop them).
func daemonCmd(name, short, example string, build func(path string) (server, error)) *cobra.Command {
	var confPath, cpuProfile string
	cmd := &cobra.Command{
		Use:     name + " [--config FILE | FILE] [start]",
		Short:   short,
		Example: "  " + example,
		Args:    cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				if confPath != "" && confPath != args[0] {
					return fmt.Errorf("conf file given twice: --config %s and %s", confPath, args[0])
				}
				confPath = args[0]
			}
			if len(args) == 2 && args[1] != "start" {
				return fmt.Errorf("action %q is not supported: the %s runs in the foreground and stops on SIGTERM or Ctrl-C", args[1], name)
			}
			if confPath == "" {
				return fmt.Errorf("no conf file: use fdfs %s --config %s.conf", name, name)
			}
			srv, err := build(confPath)
			var confErr *conf.Error
			if errors.As(err, &confErr) {
				return err // names the file, line and key itself
			}
			if err != nil {
				return fmt.Errorf("%s: %s: %w", name, confPath, err)
			}
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				defer stop()
			}
			return runDaemon(cmd.Context(), name, srv)
		},
	}
	cmd.Flags().StringVarP(&confPath, "config", "c", "", "upstream-format "+name+".conf")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile (go tool pprof) to this file until the daemon stops")
	return cmd
}

// runDaemon starts srv and blocks until SIGINT or SIGTERM, then closes it. A
// second signal while closing kills the process the default way.
func runDaemon(ctx context.Context, name string, srv server) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := srv.Start(); err != nil {
		srv.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
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
