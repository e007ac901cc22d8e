package grpcslog

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/grpclog"
)

// lines decodes the JSON lines of buf.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, m)
	}
	buf.Reset()
	return out
}

func TestLevels(t *testing.T) {
	var buf bytes.Buffer
	for _, tc := range []struct {
		min   slog.Level
		log   func(grpclog.LoggerV2)
		level string // "" when nothing is logged
		msg   string
	}{
		{slog.LevelInfo, func(l grpclog.LoggerV2) { l.Infof("channel %d", 1) }, "", ""},
		{slog.LevelDebug, func(l grpclog.LoggerV2) { l.Infoln("channel", 1) }, "DEBUG", "channel 1"},
		{slog.LevelInfo, func(l grpclog.LoggerV2) { l.Warning("slow ", "peer") }, "WARN", "slow peer"},
		{slog.LevelInfo, func(l grpclog.LoggerV2) { l.Errorf("header %q skipped", "x-a") }, "ERROR", `header "x-a" skipped`},
		{slog.LevelError, func(l grpclog.LoggerV2) { l.Warningf("w") }, "", ""},
	} {
		l := New(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: tc.min})), time.Now)
		tc.log(l)
		got := lines(t, &buf)
		if tc.level == "" {
			if len(got) != 0 {
				t.Errorf("%v: logged %v", tc.min, got)
			}
			continue
		}
		if len(got) != 1 || got[0]["level"] != tc.level || got[0]["msg"] != tc.msg || got[0]["component"] != "grpc" {
			t.Errorf("want %s %q, got %v", tc.level, tc.msg, got)
		}
	}
}

// At most perSecond lines a second; the next line logged says how many
// were dropped before it.
func TestRateLimit(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1_800_000_000, 0)
	l := New(slog.New(slog.NewJSONHandler(&buf, nil)), func() time.Time { return now })
	for range 1000 {
		l.Errorf("header %q contains non-ASCII value", "X-Flood")
	}
	if got := lines(t, &buf); len(got) != perSecond {
		t.Fatalf("%d lines in one second, want %d", len(got), perSecond)
	}
	now = now.Add(time.Second)
	l.Error("next")
	got := lines(t, &buf)
	if len(got) != 1 || got[0]["dropped_before"] != float64(1000-perSecond) {
		t.Fatalf("after the flood: %v", got)
	}
	now = now.Add(-time.Hour) // a clock stepped back starts a new second
	l.Error("back")
	if got := lines(t, &buf); len(got) != 1 || got[0]["dropped_before"] != nil {
		t.Fatalf("after the clock stepped back: %v", got)
	}
}

// Install routes grpclog, which grpc-gateway and gRPC call, to the logger.
func TestInstall(t *testing.T) {
	var buf bytes.Buffer
	Install(slog.New(slog.NewJSONHandler(&buf, nil)))
	grpclog.Errorf("Value of HTTP header %q contains non-ASCII value (not valid as gRPC metadata): skipping", "x-name")
	got := lines(t, &buf)
	if len(got) != 1 || !strings.Contains(got[0]["msg"].(string), `"x-name" contains non-ASCII`) {
		t.Fatalf("logged %v", got)
	}
}
