package faults

import (
	"math/rand/v2"
	"testing"
	"time"
)

// Mutation kill figures.
const (
	mutationKills        = 20
	mutationDownTime     = 300 * time.Millisecond
	mutationWorkers      = 6
	mutationFilesPerWork = 3
	mutationReaders      = 2
	mutationAcksPerKill  = 60
)

// TestStorageKill9Mutations: one tracker and three storages of group1;
// 6 clients each keep 3 appender files (with metadata) and change a random
// one at a time: append, modify, truncate, metadata overwrite and merge,
// and (1 in 20) delete, each failure settled on every storage (the old
// state: retried; the new one: it landed) before the next; 2 clients read
// random files and their metadata. A random storage is killed with SIGKILL
// and restarted 300 ms later, 20 times. Then every acknowledged file must
// be served with its bytes and metadata by every storage, every deleted
// one by none, and no upload temp file may remain. Reads that got a state
// never written, and failed operations the storages never agreed on, are
// counted and logged (docs/reliability.md: an append or modify in flight).
func TestStorageKill9Mutations(t *testing.T) {
	needBinary(t)
	c := startCluster(t, "127.0.0.195", "127.0.0.196", "127.0.0.197", "127.0.0.198")
	w := newWorkload(c)
	w.startWorkers(mutationWorkers, mutationFilesPerWork, 13)
	w.startReaders(mutationReaders, 13)
	defer w.finish()

	r := rand.New(rand.NewPCG(13, 1))
	killed := make([]int, len(c.storages))
	for range mutationKills {
		w.waitAcks(t, mutationAcksPerKill)
		v := r.IntN(len(c.storages))
		c.storages[v].kill()
		killed[v]++
		time.Sleep(mutationDownTime)
		c.storages[v].start()
		c.waitActive(t)
	}
	w.waitAcks(t, mutationAcksPerKill)
	w.finish()
	t.Logf("storage kill -9 mid mutations: %d kills (down %v each, restarted), per storage %v", mutationKills, mutationDownTime, killed)
	w.check(t, "mutations")
}
