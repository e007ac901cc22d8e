//go:build !linux

package interop

import "syscall"

func daemonAttr() *syscall.SysProcAttr { return nil }
