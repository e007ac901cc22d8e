package testwait

import (
	"fmt"
	"testing"
	"time"
)

// Poll is how often Until and For check their condition.
const Poll = 5 * time.Millisecond

// Until polls cond until it holds, failing the test after timeout with
// "timed out after <timeout> waiting for <what>".
func Until(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	For(t, timeout, what, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	})
}

// For polls check until it returns nil, failing the test after timeout
// with the last error it returned (which says how far things got).
func For(t testing.TB, timeout time.Duration, what string, check func() error) {
	t.Helper()
	if err := Wait(timeout, check); err != nil {
		t.Fatalf("timed out after %v waiting for %s: %v", timeout, what, err)
	}
}

// Wait polls check until it returns nil or timeout has passed, and returns
// check's last error then: for callers that are not the test goroutine
// (t.Fatal must not be called from others).
func Wait(timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(Poll)
	}
}

// Holds polls cond until it holds (true) or timeout has passed (false),
// for callers that report the failure themselves.
func Holds(timeout time.Duration, cond func() bool) bool {
	return Wait(timeout, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	}) == nil
}

var errNotYet = fmt.Errorf("condition not met")
