package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/devcluster"
)

// fdfs ls and fdfs scrub against an in-process cluster.
func TestLsAndScrubCommands(t *testing.T) {
	c, err := devcluster.Launch(context.Background(), devcluster.Options{
		Dir: t.TempDir(), Storages: 1, SubdirCount: 4, HeartBeatInterval: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conf := c.ClientConfPath
	src := filepath.Join(t.TempDir(), "a.txt")
	if err := os.WriteFile(src, []byte("hello"), 0o644); err != nil {
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
	var ids []string
	for range 3 {
		ids = append(ids, strings.TrimSpace(must("upload", "--config", conf, src)))
	}
	slices.Sort(ids)
	if out := must("ls", "--config", conf, "group1"); out != strings.Join(ids, "\n")+"\n" {
		t.Fatalf("ls printed %q, want %v", out, ids)
	}
	if out := must("ls", "--config", conf, "-n", "2", "--ext", "txt", "group1"); strings.Count(out, "\n") != 2 {
		t.Fatalf("ls -n 2 printed %q", out)
	}
	if out := must("ls", "--config", conf, "--ext", "jpg", "group1"); out != "" {
		t.Fatalf("ls --ext jpg printed %q", out)
	}
	if out := must("ls", "--config", conf, "-l", "group1"); !strings.Contains(out, "           5  ") {
		t.Fatalf("ls -l printed %q", out)
	}
	if _, err := runCLI(t, "ls", "--config", conf, "bad/group"); err == nil {
		t.Fatal("ls of a bad group succeeded")
	}
	out := must("scrub", "--config", conf, "--run", "group1")
	if !strings.Contains(out, "passes 1, files 3, bytes 15, corrupt 0, missing 0") {
		t.Fatalf("scrub printed %q", out)
	}
}
