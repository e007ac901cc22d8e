package main

import (
	"context"
	"regexp"
	"testing"

	"github.com/fdfsgo/fdfs/devcluster"
)

// TestBenchLag runs `fdfs bench-lag` against an in-process cluster of two
// storages: every upload is seen on both, and the report names them.
func TestBenchLag(t *testing.T) {
	c, err := devcluster.Launch(context.Background(), devcluster.Options{
		Dir: t.TempDir(), Storages: 2, SubdirCount: 4, HeartBeatInterval: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out, err := runCLI(t, "bench-lag", "--config", c.ClientConfPath, "--count", "30", "--concurrency", "2", "--size", "1KB")
	if err != nil {
		t.Fatalf("bench-lag: %v\n%s", err, out)
	}
	for _, re := range []string{
		`replicas=map\[group1:2\]`,
		`uploaded=30 failed=0 `,
		`replicated=30 not_replicated=0`,
		`lag p50=\S+ p90=\S+ p99=\S+ max=\S+`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", re, out)
		}
	}
	if out, err := runCLI(t, "bench-lag", "--config", c.ClientConfPath, "--count", "0"); err == nil {
		t.Errorf("--count 0 accepted:\n%s", out)
	}
}
