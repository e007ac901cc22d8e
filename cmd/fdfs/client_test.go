package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/fdfsgo/fdfs/devcluster"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

func TestFileExt(t *testing.T) {
	tests := map[string]string{
		"a.txt":           "txt",
		"dir.d/noext":     "",
		"/x/y/archive.gz": "gz",
		"README":          "",
		"trailing.":       "",
	}
	for in, want := range tests {
		if got := fileExt(in); got != want {
			t.Errorf("fileExt(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseMeta(t *testing.T) {
	m, err := parseMeta([]string{"a=1", "b=x=y", "c="})
	if err != nil || m["a"] != "1" || m["b"] != "x=y" || m["c"] != "" || len(m) != 3 {
		t.Fatalf("parseMeta: %v, %v", m, err)
	}
	for _, bad := range []string{"novalue", "=v"} {
		if _, err := parseMeta([]string{bad}); err == nil {
			t.Errorf("parseMeta(%q) accepted", bad)
		}
	}
}

func TestOpenRegular(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, n, err := openRegular(p)
	if err != nil || n != 5 {
		t.Fatalf("openRegular: %d, %v", n, err)
	}
	f.Close()
	if _, _, err := openRegular(dir); err == nil {
		t.Fatal("a directory was accepted")
	}
}

// runCLI runs the fdfs command line with args and returns its stdout.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	resetFlags(rootCmd)
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetArgs(args)
	err := rootCmd.Execute()
	return out.String(), err
}

// resetFlags puts every flag back to its default: cobra keeps flag values
// between Execute calls of the same command tree.
func resetFlags(c *cobra.Command) {
	reset := func(f *pflag.Flag) {
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			sv.Replace(nil)
		} else {
			f.Value.Set(f.DefValue)
		}
		f.Changed = false
	}
	c.Flags().VisitAll(reset)
	c.PersistentFlags().VisitAll(reset)
	for _, sub := range c.Commands() {
		resetFlags(sub)
	}
}

// The client commands against an in-process cluster, configured through
// the client.conf it writes.
func TestClientCommands(t *testing.T) {
	ctx := context.Background()
	c, err := devcluster.Launch(ctx, devcluster.Options{
		Dir: t.TempDir(), Storages: 1, SubdirCount: 4, HeartBeatInterval: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conf := c.ClientConfPath
	dir := t.TempDir()
	src := filepath.Join(dir, "hello.txt")
	if err := os.WriteFile(src, []byte("hello world"), 0o644); err != nil {
		t.Fatal(err)
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := runCLI(t, args...)
		if err != nil {
			t.Fatalf("fdfs %s: %v", strings.Join(args, " "), err)
		}
		return out
	}

	id := strings.TrimSpace(must("upload", "--config", conf, "--meta", "a=1", src))
	if !strings.HasPrefix(id, "group1/M00/") || !strings.HasSuffix(id, ".txt") {
		t.Fatalf("upload printed %q", id)
	}
	dest := filepath.Join(dir, "copy")
	must("download", "--config", conf, id, dest)
	if b, err := os.ReadFile(dest); err != nil || string(b) != "hello world" {
		t.Fatalf("downloaded %q, %v", b, err)
	}
	// A destination that is not a regular file is written to, not
	// replaced (fdfs download ID /dev/null once replaced /dev/null).
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := os.ReadFile(fifo) // blocks until the download opens the FIFO
		got <- b
	}()
	must("download", "--config", conf, id, fifo)
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the FIFO was replaced: %v, %v", st.Mode(), err)
	}
	if b := <-got; string(b) != "hello world" {
		t.Fatalf("read %q from the FIFO", b)
	}
	if out := must("download", "--config", conf, "--offset", "6", "--length", "5", id, "-"); out != "world" {
		t.Fatalf("range download to stdout %q", out)
	}
	if out := must("get-meta", "--config", conf, id); out != "a=1\n" {
		t.Fatalf("get-meta %q", out)
	}
	must("set-meta", "--config", conf, "--merge", id, "b=2")
	if out := must("get-meta", "--config", conf, id); out != "a=1\nb=2\n" {
		t.Fatalf("get-meta after merge %q", out)
	}
	if out := must("info", "--config", conf, id); !strings.Contains(out, "file size: 11\n") || !strings.Contains(out, "file type: normal") {
		t.Fatalf("info:\n%s", out)
	}
	slave := strings.TrimSpace(must("upload-slave", "--config", conf, id, "_t", src))
	if !strings.HasSuffix(slave, "_t.txt") {
		t.Fatalf("slave %q", slave)
	}

	app := strings.TrimSpace(must("upload-appender", "--config", conf, src))
	must("append", "--config", conf, app, src)
	must("modify", "--config", conf, app, "0", src)
	must("truncate", "--config", conf, app, "15")
	regen := strings.TrimSpace(must("regenerate", "--config", conf, app))
	if out := must("download", "--config", conf, regen, "-"); out != "hello worldhell" {
		t.Fatalf("appender content %q", out)
	}

	// fdfs_monitor's layout (internal/ctools prints both).
	out := must("monitor", "--config", conf)
	for _, want := range []string{"group count: 1", "\nGroup 1:\ngroup name = group1\n", "disk available space = ",
		"\tStorage 1:\n\t\tid = ", "  ACTIVE\n\t\tread write mode = ", "\t\ttotal_upload_count = ", "\t\tlast_heart_beat_time = "} {
		if !strings.Contains(out, want) {
			t.Fatalf("monitor output lacks %q:\n%s", want, out)
		}
	}
	if _, err := runCLI(t, "monitor", "--config", conf, "nosuchgroup"); !errors.Is(err, protocol.ErrNotFound) {
		t.Fatalf("monitor of a group that does not exist: %v", err)
	}
	if _, err := runCLI(t, "monitor", "delete-group", "--config", conf, "group1"); err == nil {
		t.Fatal("deleting a group with an active storage succeeded")
	}

	must("delete", "--config", conf, id, slave, regen)
	if _, err := runCLI(t, "info", "--config", conf, id); !errors.Is(err, protocol.ErrNotFound) {
		t.Fatalf("info of a deleted file: %v", err)
	}

	for _, op := range []string{"mixed", "view"} {
		bench := must("bench", "--config", conf, "--op", op, "--count", "20", "--concurrency", "4", "--size", "1KB")
		if !strings.Contains(bench, "ok=20 failed=0") || !strings.Contains(bench, "p99=") {
			t.Fatalf("bench --op %s output:\n%s", op, bench)
		}
	}
}
