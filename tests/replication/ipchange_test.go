package replication

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/tests/cluster"
	"github.com/fdfsgo/fdfs/tests/internal/fdfsproc"
	"github.com/fdfsgo/fdfs/tests/internal/payload"
)

// TestAddressChange: a storage comes back with another IP address (IP
// mode), as after a DHCP renewal or a container moved. It reports the
// change before joining, so the tracker moves its record (two storages
// listed, not a new third one with the old OFFLINE), its peer renames the
// sync mark and sends it what it missed, and files named after the old
// address are still read and deleted through it.
func TestAddressChange(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 2})
	moved := c.Storages[1]
	oldIP := moved.IP
	want := map[string][]byte{}
	var fromOld string // a file whose name carries the old address
	for i := 0; len(want) < 8 || fromOld == ""; i++ {
		b := payload.Bytes(i, 1000+i)
		id := upload(t, c.Client, b, client.UploadOptions{Ext: "bin"})
		want[id] = b
		if _, n, err := client.DecodeFileID(id); err == nil && n.SourceIP == oldIP {
			fromOld = id
		}
		if i > 200 {
			t.Fatal("no upload landed on the storage about to move")
		}
	}
	waitEverywhere(t, c.Storages, want)

	c.StopStorage(1)
	c.WaitStatus(1, protocol.StatusOffline)
	for i := range 5 { // only storage 0 takes these
		b := payload.Bytes(100+i, 2000+i)
		want[upload(t, c.Client, b, client.UploadOptions{Ext: "bin"})] = b
	}
	newIP := fdfsproc.FreeIP(t, moved.Port)
	fdfsproc.SetKey(t, moved.ConfPath, "bind_addr", newIP)
	moved.IP, moved.ID = newIP, newIP
	c.StartStorage(1)
	c.WaitActive()

	list, err := c.Client.ListStorages(opCtx(t), "group1", "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID+" "+protocol.StorageStatusName(s.Status))
	}
	sort.Strings(ids)
	wantIDs := []string{c.Storages[0].IP + " ACTIVE", newIP + " ACTIVE", oldIP + " IP_CHANGED"}
	sort.Strings(wantIDs)
	if fmt.Sprint(ids) != fmt.Sprint(wantIDs) {
		t.Fatalf("group1 lists %v after the move, want %v (the storage moved, not a new one; its old address kept as upstream's tracker keeps it)", ids, wantIDs)
	}
	mark := func(ip string) string {
		return filepath.Join(c.Storages[0].BasePath, "data", "sync", fmt.Sprintf("%s_%d.mark", ip, moved.Port))
	}
	waitEverywhere(t, c.Storages, want)
	testwait.Until(t, waitLimit, "storage 0's sync mark renamed to the new address", func() bool {
		_, errOld := os.Stat(mark(oldIP))
		_, errNew := os.Stat(mark(newIP))
		return errOld != nil && errNew == nil
	})

	// Both storages keep the change (the mover from its report, the peer
	// from the changelog): names carrying the old address are resolved
	// after restarts too.
	for _, s := range c.Storages {
		b, _ := os.ReadFile(filepath.Join(s.BasePath, "data", ".moved_addresses"))
		if string(b) != oldIP+" "+newIP+"\n" {
			t.Errorf("%s's moved addresses: %q", s.Name, b)
		}
	}

	var got bytes.Buffer
	if _, err := c.Client.Download(opCtx(t), fromOld, 0, 0, &got); err != nil || !bytes.Equal(got.Bytes(), want[fromOld]) {
		t.Fatalf("download of %s (named after the old address): %d bytes, %v", fromOld, got.Len(), err)
	}
	if err := c.Client.Delete(opCtx(t), fromOld); err != nil {
		t.Fatalf("delete of %s (named after the old address): %v", fromOld, err)
	}
	testwait.Until(t, waitLimit, "the deleted file gone from both storages", func() bool {
		for _, s := range c.Storages {
			if _, err := os.Stat(storedPath(t, s, fromOld)); err == nil {
				return false
			}
		}
		return true
	})
}
