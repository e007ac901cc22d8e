// Package backoff is the servers' one pause between retries of something
// that keeps failing (a sync session, a recovery attempt, accept): it
// doubles from a minimum up to a maximum and starts over after a success,
// so a peer that is down costs little and one that is back is retried
// soon.
package backoff
