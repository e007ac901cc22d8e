package interop

// The client side of the harness: client.conf, running the tools (upstream's
// or ours) and reading fdfs_monitor.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fdfsgo/fdfs/internal/ctools"
)

// writeClientConf writes the client.conf of the tools, naming trackers
// (default: every tracker of the env).
func (e *env) writeClientConf(trackers ...*node) string {
	e.t.Helper()
	e.clientConf = e.writeClientConfAt(filepath.Join(e.dir, "client.conf"), trackers...)
	return e.clientConf
}

// writeClientConfAt writes a client.conf to path (see writeClientConf).
func (e *env) writeClientConfAt(path string, trackers ...*node) string {
	e.t.Helper()
	if len(trackers) == 0 {
		for _, n := range e.nodes {
			if n.role == "tracker" {
				trackers = append(trackers, n)
			}
		}
	}
	var b strings.Builder
	b.WriteString("# client.conf (upstream format), written by tests/interop\n")
	b.WriteString("connect_timeout = 5\nnetwork_timeout = 60\n")
	fmt.Fprintf(&b, "base_path = %s\n", e.mkdir("client"))
	for _, tr := range trackers {
		fmt.Fprintf(&b, "tracker_server = %s\n", tr.addr())
	}
	b.WriteString("log_level = info\nuse_connection_pool = false\nconnection_pool_max_idle_time = 3600\n")
	b.WriteString("load_fdfs_parameters_from_tracker = false\n")
	if e.idsFile != "" {
		fmt.Fprintf(&b, "use_storage_id = true\nstorage_ids_filename = %s\n", e.idsFile)
	} else {
		b.WriteString("use_storage_id = false\nstorage_ids_filename = storage_ids.conf\n")
	}
	b.WriteString("http.tracker_server_port = 80\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// result is the outcome of one tool run.
type result struct {
	cmdline        string
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("$ %s\nexit %d\nstdout:\n%s\nstderr:\n%s", r.cmdline, r.code, r.stdout, r.stderr)
}

// run runs a client program with args, in e.work: upstream's (from the
// reference bin dir), or ours when e.tools says so and we provide it. The
// client conf is not added: pass e.clientConf.
func (e *env) run(tool string, args ...string) result {
	e.t.Helper()
	if e.tools == ours && ctools.Is(tool) {
		return e.runProgram(ours, tool, args...)
	}
	return e.runProgram(upstream, tool, args...)
}

// runProgram runs upstream's program tool or ours (the fdfs binary with
// tool as its argv[0]).
func (e *env) runProgram(im impl, tool string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(refBin, tool), args...)
	if im == ours {
		cmd = exec.CommandContext(ctx, ourBin, args...)
	}
	cmd.Args[0] = tool // as a script calling it by its name on PATH
	cmd.Env = refEnv()
	cmd.Dir = e.work
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{cmdline: strings.Join(append([]string{tool}, args...), " ") + " (" + string(im) + ")", stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		e.t.Fatalf("%s: %v", r.cmdline, err)
	}
	if ctx.Err() != nil {
		e.t.Fatalf("%s: timed out after %v\n%s", r.cmdline, waitLimit, r)
	}
	return r
}

// mustRun is run failing the test on a non-zero exit status.
func (e *env) mustRun(tool string, args ...string) result {
	e.t.Helper()
	r := e.run(tool, args...)
	if r.code != 0 {
		e.t.Fatalf("unexpected failure:\n%s", r)
	}
	return r
}

// monStorage and monGroup are what fdfs_monitor prints.
type monStorage struct {
	ip     string
	port   int
	status string
	kv     map[string]string
}

type monGroup struct {
	name     string
	kv       map[string]string
	storages []*monStorage
}

// monitor runs `fdfs_monitor client.conf list` and parses its output.
func (e *env) monitor() ([]*monGroup, result) {
	e.t.Helper()
	r := e.run("fdfs_monitor", e.clientConf, "list")
	return parseMonitor(r.stdout), r
}

func parseMonitor(out string) []*monGroup {
	var groups []*monGroup
	var g *monGroup
	var s *monStorage
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "Group "):
			g = &monGroup{kv: map[string]string{}}
			groups = append(groups, g)
			s = nil
			continue
		case strings.HasPrefix(line, "Storage ") && g != nil:
			s = &monStorage{kv: map[string]string{}}
			g.storages = append(g.storages, s)
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || g == nil {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if s == nil {
			g.kv[k] = v
			if k == "group name" {
				g.name = v
			}
			continue
		}
		s.kv[k] = v
		if k == "host" || k == "ip_addr" { // "127.1.2.3:23000  ACTIVE"
			f := strings.Fields(v)
			if len(f) == 2 {
				s.status = f[1]
				if h, p, err := net.SplitHostPort(f[0]); err == nil {
					s.ip = h
					s.port, _ = strconv.Atoi(p)
				} else {
					s.ip = f[0]
				}
			}
		}
	}
	return groups
}

func (g *monGroup) storage(ip string) *monStorage {
	for _, s := range g.storages {
		if s.ip == ip {
			return s
		}
	}
	return nil
}

func findGroup(groups []*monGroup, name string) *monGroup {
	for _, g := range groups {
		if g.name == name {
			return g
		}
	}
	return nil
}
