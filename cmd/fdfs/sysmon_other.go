//go:build !linux

package main

// reexecForSysmon does nothing outside Linux (sysmon_linux.go).
func reexecForSysmon(argv []string) {}
