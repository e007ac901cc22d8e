package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/internal/logfile"
	"github.com/fdfsgo/fdfs/internal/pidfile"
	"github.com/fdfsgo/fdfs/internal/prebind"
	"golang.org/x/sys/unix"
)

// daemonChildEnv marks the background process a --daemon start spawns;
// its value is the descriptor of the pipe on which the child says "ok"
// once it serves, or why it could not.
const daemonChildEnv = "FDFS_DAEMON_CHILD"

// daemonOpts is the command line of `fdfs tracker` / `fdfs storage`.
type daemonOpts struct {
	confPath, action, cpuProfile string
	daemon, noDaemon, version    bool
}

// upstreamArgs turns the command line of a binary called fdfs_trackerd or
// fdfs_storaged (a link to this one, in place of upstream's) into ours:
// `fdfs_trackerd CONF [start|stop|restart|status] [-N]` runs `fdfs tracker
// --daemon CONF ...`. Any other name leaves args as they are.
func upstreamArgs(args []string) []string {
	if len(args) == 0 {
		return args
	}
	for _, k := range []daemonKind{trackerKind, storageKind} {
		if filepath.Base(args[0]) == k.upstream {
			return append([]string{args[0], k.name, "--daemon"}, args[1:]...)
		}
	}
	return args
}

// runKind runs the action of a daemon command line.
func runKind(ctx context.Context, k daemonKind, o daemonOpts) error {
	if !slices.Contains([]string{"start", "stop", "restart", "status"}, o.action) {
		return fmt.Errorf("action %q: want start, stop, restart or status", o.action)
	}
	dc, err := k.load(o.confPath)
	var confErr *conf.Error
	if errors.As(err, &confErr) {
		return err // names the file, line and key itself
	}
	if err != nil {
		return fmt.Errorf("%s: %s: %w", k.name, o.confPath, err)
	}
	pid := filepath.Join(dc.base, "data", k.upstream+".pid")
	if os.Getenv(daemonChildEnv) != "" {
		o.action = "start" // the parent stopped the old one already
	}
	say := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	same := sameDaemon(k, o.confPath)
	switch o.action {
	case "status":
		p, err := pidfile.Running(pid, same)
		if err != nil {
			fmt.Println("NOT running")
			return err
		}
		fmt.Printf("Running, pid: %d\n", p)
		return nil
	case "stop":
		return pidfile.Stop(pid, same, say)
	case "restart":
		if err := pidfile.Stop(pid, same, say); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ESRCH) {
			return err
		}
		say("starting ...")
	}
	if err := pidfile.Check(pid, same); err != nil {
		return fmt.Errorf("%s: %w", k.name, err)
	}
	if o.daemon && !o.noDaemon && os.Getenv(daemonChildEnv) == "" {
		return spawnDaemon(k, filepath.Join(dc.base, "logs", k.logName+".log"))
	}
	return serve(ctx, k, o, dc, pid)
}

// sameDaemon tells whether the running process pid, of command line
// cmdline, is a daemon of kind k on the same conf file: ours (the
// subcommand) or upstream's (its program name), which shares the pid file.
// Its conf argument is resolved against its working directory; when that
// cannot be read (another user's process), the file names are compared.
// A pid since reused by another program, or by a daemon of another conf
// file (a host with several storages), does not stop a start.
func sameDaemon(k daemonKind, confPath string) func(int, []string) bool {
	ours, err := filepath.Abs(confPath)
	if err != nil {
		ours = confPath
	}
	return func(pid int, cmdline []string) bool {
		if len(cmdline) == 0 {
			return false
		}
		if filepath.Base(cmdline[0]) != k.upstream && !slices.Contains(cmdline[1:], k.name) {
			return false
		}
		cwd, cwdErr := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		return slices.ContainsFunc(cmdline[1:], func(a string) bool {
			if _, v, ok := strings.Cut(a, "="); ok { // --config=FILE
				a = v
			}
			if cwdErr != nil {
				return filepath.Base(a) == filepath.Base(ours)
			}
			if !filepath.IsAbs(a) {
				a = filepath.Join(cwd, a)
			}
			return filepath.Clean(a) == ours
		})
	}
}

// spawnDaemon starts this command again in the background (its own
// session, no terminal) and returns once it serves, or with the reason it
// could not: the child reports on a pipe.
func spawnDaemon(k daemonKind, logPath string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		w.Close()
		return err
	}
	defer devnull.Close()
	cmd := &exec.Cmd{Path: exe, Args: givenArgs, Env: append(os.Environ(), daemonChildEnv+"=3"),
		Stdin: devnull, Stdout: devnull, Stderr: devnull, ExtraFiles: []*os.File{w},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("%s: start in the background: %w", k.name, err)
	}
	msg, _ := io.ReadAll(r) // until the child says ok, or exits
	if string(msg) == "ok\n" {
		return nil
	}
	exit := cmd.Wait()
	if len(msg) > 0 {
		return errors.New(strings.TrimSpace(string(msg)))
	}
	return fmt.Errorf("%s: the background daemon exited (%v) before serving; see %s", k.name, exit, logPath)
}

// readyPipe is the pipe of a background child, nil otherwise.
func readyPipe() *os.File {
	if os.Getenv(daemonChildEnv) != "3" {
		return nil
	}
	return os.NewFile(3, "ready")
}

// serve runs the daemon in this process until SIGTERM or SIGINT. In the
// background it logs to base_path/logs (rotated as [error-log] says,
// and on SIGHUP, as upstream's), and tells its parent when it serves.
func serve(ctx context.Context, k daemonKind, o daemonOpts, dc *daemonConf, pid string) (err error) {
	if ctx == nil {
		ctx = context.Background()
	}
	// From before the ports are bound: a SIGTERM sent once they accept
	// (the daemon still starting) stops it cleanly, not by the default
	// action. Dropped at the first signal, so that a second one while
	// closing kills as runDaemon says.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	ready := readyPipe()
	defer func() {
		if ready != nil { // still waiting for us: say why not
			fmt.Fprintf(ready, "%v\n", err)
			ready.Close()
		}
	}()
	var dl daemonLog
	defer dl.close()
	defer prebind.Close() // the sockets a failed start did not take
	as, err := dc.runBy(func() error { return openBeforeSwitch(k, dc, &dl, ready != nil) })
	if err != nil {
		return fmt.Errorf("%s: %s: %w", k.name, o.confPath, err)
	}
	log := daemonLogger(k, dc, dl.file, as)
	srv, err := dc.build(log)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", k.name, o.confPath, err)
	}
	if o.cpuProfile != "" {
		stop, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			srv.Close()
			return fmt.Errorf("%s: %w", k.name, err)
		}
		defer stop()
	}
	return runDaemon(ctx, k.name, srv, func() error {
		if err := pidfile.Write(pid); err != nil {
			return fmt.Errorf("pid file: %w", err)
		}
		if ready != nil {
			ready.WriteString("ok\n")
			ready.Close()
			ready = nil
		}
		return nil
	}, func() {
		if err := pidfile.Remove(pid); err != nil {
			slog.Warn("pid file", "err", err)
		}
	})
}

// openBeforeSwitch is what serve does before runBy switches to
// run_by_user: it binds the daemon's ports and, in the background
// (logToFile), opens its log file into dl.
func openBeforeSwitch(k daemonKind, dc *daemonConf, dl *daemonLog, logToFile bool) error {
	// Bound before the switch, as upstream's: a port under 1024 needs
	// no capability for the user the daemon becomes.
	if err := prebind.Bind(dc.addrs...); err != nil {
		return err
	}
	if !logToFile {
		return nil
	}
	// Opened before the switch, as upstream's: a log file a C daemon
	// run as root left root's is still written.
	return dl.open(filepath.Join(dc.base, "logs", k.logName+".log"), dc.errorLog)
}

// daemonLogger returns the daemon's logger, writing to file, or to stderr
// when file is nil (the foreground), and logs the conf file's warnings
// and whom the daemon runs as (as, "" when it did not switch).
func daemonLogger(k daemonKind, dc *daemonConf, file *logfile.File, as string) *slog.Logger {
	out := io.Writer(os.Stderr)
	if file != nil {
		out = file
	} else {
		// SIGHUP rotates the log of a daemon in the background; one
		// logging to stderr has nothing to rotate, and must not die of
		// it (a logrotate script for the C daemons' logs sends it).
		signal.Ignore(syscall.SIGHUP)
	}
	log := newLogger(out, dc.logLevel).With("node", k.name)
	logConfWarnings(log, dc.raw)
	if as != "" {
		log.Info("running as " + as)
	}
	return log
}

// daemonLog is the log file of a daemon in the background (nil file in
// the foreground, which logs to stderr).
type daemonLog struct {
	file *logfile.File
	hup  chan os.Signal
}

// open opens the log file, rotated as lc says and on SIGHUP, and puts it
// on stdout and stderr too (a crash's trace lands there).
func (d *daemonLog) open(path string, lc conf.LogConfig) error {
	f, err := logfile.Open(path, logfile.Options{
		RotateEveryday: lc.RotateEveryday, RotateTime: lc.RotateTime, RotateOnSize: lc.RotateOnSize,
		CompressOld: lc.CompressOld, CompressDaysBefore: lc.CompressDaysBefore,
		KeepDays: lc.KeepDays, DeleteOldTime: lc.DeleteOldTime,
	}, func(f *os.File) error {
		for _, fd := range []int{1, 2} {
			if err := unix.Dup2(int(f.Fd()), fd); err != nil {
				return fmt.Errorf("dup onto %d: %w", fd, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	d.file, d.hup = f, make(chan os.Signal, 1)
	signal.Notify(d.hup, syscall.SIGHUP)
	go func() {
		for range d.hup {
			if err := f.Rotate(); err != nil {
				slog.Warn("log rotation", "err", err)
			}
		}
	}()
	return nil
}

func (d *daemonLog) close() {
	if d.file == nil {
		return
	}
	signal.Stop(d.hup)
	close(d.hup)
	d.file.Close()
}
