package main

import (
	"os"
	"strings"
	"syscall"
)

// idleSysmonGodebug keeps the Go runtime's sysmon thread from parking when
// every P goes idle. A daemon serving one client at a time (a Java web
// application uploading one file after another) goes idle between
// requests; sysmon parks, the next request's first syscall wakes it with
// a futex, and, taking the wake-up as a sign of work, sysmon then polls
// every 20 µs for a millisecond or more. That came to a quarter of the
// tracker's CPU per query. With schedtrace set sysmon never parks and
// settles to one wake-up every 10 ms; the period, 2^31-1 ms (24.8 days),
// means no trace is printed, except one line at start on a host up for
// longer than that.
const idleSysmonGodebug = "schedtrace=2147483647"

// reexecForSysmon re-executes the daemon (same pid and descriptors, argv
// the command line as given) with idleSysmonGodebug added to GODEBUG: the runtime reads
// schedtrace only from the environment at start. It returns when the
// setting is there already, when the user set schedtrace themselves, or
// when FDFS_NO_REEXEC is set or exec fails: the daemon then runs as it is.
func reexecForSysmon(argv []string) {
	godebug := os.Getenv("GODEBUG")
	if strings.Contains(godebug, "schedtrace=") || os.Getenv("FDFS_NO_REEXEC") != "" {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	if godebug != "" {
		godebug += ","
	}
	env := []string{"GODEBUG=" + godebug + idleSysmonGodebug}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GODEBUG=") {
			env = append(env, kv)
		}
	}
	syscall.Exec(exe, argv, env) // returns only on failure
}
