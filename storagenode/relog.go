package storagenode

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// relogSlack is how long before the crashed run's last binlog record a
// change may have been made whose own record the crash prevented: longer
// than any change takes between its write and its record (the fsync of a
// metadata file's directory, milliseconds), with room to spare.
const relogSlack = 10 * time.Second

// lastRecordTime is when the previous run wrote its last binlog record
// (the current binlog file's modification time); zero if unknown.
func (s *Server) lastRecordTime() time.Time {
	fi, err := os.Stat(s.bl.Path(s.bl.Index()))
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// afterCrash runs once after a crash (see crashedBefore), over every data
// directory: it removes the crashed run's upload temp files, finishes its
// deletes and re-logs the files of ours changed since relogSlack before
// its last record.
func (s *Server) afterCrash(lastRecord time.Time) {
	defer s.wg.Done()
	ours := strings.TrimSuffix(s.tempPattern, "*.tmp")
	since := lastRecord.Add(-relogSlack)
	if !s.waitIdentity() {
		return
	}
	for i := range s.store.paths {
		for h := range s.store.subdirs {
			for l := range s.store.subdirs {
				select {
				case <-s.ctx.Done():
					return
				default:
				}
				s.afterCrashDir(i, h, l, ours, since)
			}
		}
	}
}

// afterCrashDir does afterCrash's work in one data directory. A change
// (append, modify, truncate, metadata) whose record the crash prevented
// has reached our copy but would never reach the peers: an update record
// makes each peer take the file whole, as it is now. Only our own files
// (their source is us) are re-logged; a replica's copy may be behind its
// source and must not be pushed back.
func (s *Server) afterCrashDir(i, h, l int, tempPrefix string, since time.Time) {
	entries, err := os.ReadDir(s.store.dirOf(i, h, l))
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if temp, _ := filepath.Match(tempGlob, e.Name()); temp {
			// The name, not the timestamp, tells: a run killed less than a
			// second before this start (a supervisor restarting at once)
			// leaves files as recent as ours.
			if !strings.HasPrefix(e.Name(), tempPrefix) {
				s.log.Info("removing stale upload temp file", "file", e.Name())
				os.Remove(filepath.Join(s.store.dirOf(i, h, l), e.Name()))
			}
			continue
		}
		if base, ok := strings.CutPrefix(e.Name(), tombPrefix); ok {
			s.finishDelete(fmt.Sprintf("M%02X/%02X/%02X/%s", i, h, l, base), filepath.Join(s.store.dirOf(i, h, l), e.Name()))
			continue
		}
		fi, err := e.Info()
		if err != nil || fi.ModTime().Before(since) {
			continue
		}
		name := fmt.Sprintf("M%02X/%02X/%02X/%s", i, h, l, e.Name())
		n, err := fileid.Parse(strings.TrimSuffix(name, "-m"))
		if err != nil || !s.isLocalSource(n.Source) {
			continue
		}
		// Stamped with the change's time, not ours: a peer that deleted
		// the file since takes the record for the older change it is
		// (deletes.go).
		if err := s.writeBinlog(fi.ModTime(), binlog.OpUpdate, name, ""); err == nil {
			s.log.Info("re-logged a file changed just before the crash", "name", name)
		}
	}
}

// finishDelete completes a delete the crash cut (removeLogged): its record
// (again, if it was written: a second delete is harmless), then the
// tombstone. Whatever the file's source: a delete only ever removes.
func (s *Server) finishDelete(name, tomb string) {
	if err := s.writeBinlog(time.Now(), binlog.OpDelete, name, ""); err != nil {
		return
	}
	os.Remove(tomb)
	s.log.Info("finished a delete cut by the crash", "name", name)
}

// waitIdentity waits until the server knows the address or id its file
// names carry (bind_addr, or what the trackers tell); false if the server
// stops first.
func (s *Server) waitIdentity() bool {
	for s.cfg.BindAddr == "" && *s.myIP.Load() == "" && *s.myID.Load() == "" {
		select {
		case <-s.ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
	return true
}
