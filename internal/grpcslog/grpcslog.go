package grpcslog

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/grpclog"
)

// perSecond bounds the lines logged in one second; the ones past it are
// counted and the count goes with the next line logged.
const perSecond = 10

// Install makes log the destination of grpclog for the whole process. As
// grpclog.SetLoggerV2 requires, call it before any gRPC code runs.
func Install(log *slog.Logger) { grpclog.SetLoggerV2(New(log, time.Now)) }

// New returns a grpclog.LoggerV2 writing to log with the attribute
// component=grpc: gRPC's info lines at debug level (gRPC itself shows only
// errors by default), warnings and errors at theirs. now is the clock of
// the rate limit.
func New(log *slog.Logger, now func() time.Time) grpclog.LoggerV2 {
	return &logger{log: log, now: now}
}

type logger struct {
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	window  time.Time // start of the current second of the limit
	n       int       // lines logged since window
	dropped int       // lines dropped since the last one logged
}

// emit logs msg at level unless the second's lines are used up.
func (l *logger) emit(level slog.Level, msg string) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) {
		return
	}
	l.mu.Lock()
	if now := l.now(); now.Sub(l.window) >= time.Second || now.Before(l.window) {
		l.window, l.n = now, 0
	}
	if l.n >= perSecond {
		l.dropped++
		l.mu.Unlock()
		return
	}
	l.n++
	dropped := l.dropped
	l.dropped = 0
	l.mu.Unlock()
	args := []any{"component", "grpc"}
	if dropped > 0 {
		args = append(args, "dropped_before", dropped)
	}
	l.log.Log(ctx, level, strings.TrimSuffix(msg, "\n"), args...)
}

func (l *logger) Info(args ...any)   { l.emit(slog.LevelDebug, fmt.Sprint(args...)) }
func (l *logger) Infoln(args ...any) { l.emit(slog.LevelDebug, fmt.Sprintln(args...)) }
func (l *logger) Infof(format string, args ...any) {
	l.emit(slog.LevelDebug, fmt.Sprintf(format, args...))
}
func (l *logger) Warning(args ...any)   { l.emit(slog.LevelWarn, fmt.Sprint(args...)) }
func (l *logger) Warningln(args ...any) { l.emit(slog.LevelWarn, fmt.Sprintln(args...)) }
func (l *logger) Warningf(format string, args ...any) {
	l.emit(slog.LevelWarn, fmt.Sprintf(format, args...))
}
func (l *logger) Error(args ...any)   { l.emit(slog.LevelError, fmt.Sprint(args...)) }
func (l *logger) Errorln(args ...any) { l.emit(slog.LevelError, fmt.Sprintln(args...)) }
func (l *logger) Errorf(format string, args ...any) {
	l.emit(slog.LevelError, fmt.Sprintf(format, args...))
}

// Fatal logs and exits, as grpclog's contract requires; the limit does
// not apply.
func (l *logger) Fatal(args ...any)   { l.fatal(fmt.Sprint(args...)) }
func (l *logger) Fatalln(args ...any) { l.fatal(fmt.Sprintln(args...)) }
func (l *logger) Fatalf(format string, args ...any) {
	l.fatal(fmt.Sprintf(format, args...))
}

func (l *logger) fatal(msg string) {
	l.log.Error(strings.TrimSuffix(msg, "\n"), "component", "grpc")
	os.Exit(1)
}

// V reports whether verbosity level v is logged: only 0, gRPC's default.
func (l *logger) V(v int) bool { return v <= 0 }
