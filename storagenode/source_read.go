package storagenode

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// A client's read (DOWNLOAD_FILE, GET_METADATA, QUERY_FILE_INFO) of a
// file this storage does not hold yet is answered from the file's source
// storage, as the HTTP side does in its proxy mode (httpd) and upstream's
// nginx module does. Replication is asynchronous: a client that picks its
// storage itself, a tracker that routes a read by a source's last synced
// timestamp while one of that source's files reached it late (a storage
// that joined the group), or a source the trackers list OFFLINE while its
// peers still reach it, sends a client to a storage that lacks a file
// which is on its way. Upstream's storage answers ENOENT there; ours asks
// the source, so that a file the group holds is read wherever the client
// asks. Only the file's absence is asked about: a file here without
// metadata is answered here.
//
// Only a file that may still be on its way is asked for: one made by
// another storage of the group, one this storage replicates with (asked
// at the address the trackers last announced for it, so a forged file ID
// cannot point this storage at any other host), no older than
// storage_sync_file_max_delay (after that replication has given up, as
// the HTTP side and upstream's nginx module judge). A group member asking
// gets ENOENT, as from upstream: its disk recovery and replication read
// that as the answer about this storage, and a request between members
// can never bounce back and forth.

// absentError is a read's answer for a file this storage does not hold:
// name is that file, which its source storage may hold (sourceFor).
type absentError struct {
	err  error
	name *fileid.Name
}

func (e *absentError) Error() string { return e.err.Error() }
func (e *absentError) Unwrap() error { return e.err }

// absent marks err, when it says that file n is missing, as an
// *absentError; any other err is returned as is.
func absent(err error, n *fileid.Name) error {
	if err != nil && missingFile(err) {
		return &absentError{err: err, name: n}
	}
	return err
}

// sourceFor returns the address (ip:port) of the source storage to ask
// when err is a read's *absentError and the client at remote (no member)
// may be answered from there.
func (s *Server) sourceFor(remote net.Addr, err error) (string, bool) {
	var ab *absentError
	if !errors.As(err, &ab) {
		return "", false
	}
	m := s.repl.members.Load()
	if m == nil || isMember(*m, remote) {
		return "", false
	}
	n := ab.name
	if s.isLocalSource(n.Source) || time.Since(time.Unix(n.Timestamp, 0)) > s.params.Load().SyncFileMaxDelay {
		return "", false
	}
	return s.repl.peerAddr(n)
}

// peerAddr is the address of the peer that made file n, as the trackers
// last announced it: a storage this one replicates with (its id in id
// mode, its IP, where it moved since, in IP mode).
func (r *replicator) peerAddr(n *fileid.Name) (string, bool) {
	id := n.SourceID
	if id == "" {
		id = r.s.moved.current(n.SourceIP)
	}
	r.mu.Lock()
	w := r.workers[id]
	r.mu.Unlock()
	if w == nil || id == "" {
		return "", false
	}
	b := w.brief.Load()
	return net.JoinHostPort(b.IP, strconv.Itoa(int(b.Port))), true
}

// readFromSource answers a read request (cmd, the header's status byte
// and body) with the source storage's answer to the same request. Until
// the reply's header goes out a failure is answered with notHere (this
// storage's own answer) or the source's status; after it, the connection
// is closed.
func (s *Server) readFromSource(cc *conn, cmd, status byte, body []byte, addr string, notHere error, r *readAttempt) error {
	if last, ok := s.sourceDown.Load(addr); ok && time.Since(last.(time.Time)) < sourceRetryAfter {
		s.sourceReads.failed.Add(1)
		return notHere
	}
	d := s.dialer()
	d.ConnectTimeout = min(d.ConnectTimeout, sourceConnectTimeout)
	pc, err := s.dialPeerWith(s.ctx, d, addr)
	if err != nil {
		s.sourceFailed(addr, cmd, err)
		return notHere
	}
	defer pc.hangUp()
	var h protocol.Header
	if err = pc.Send(cmd, status, body, nil, 0); err == nil {
		h, err = pc.RecvHeader()
	}
	var se *protocol.StatusError
	if errors.As(err, &se) {
		s.sourceReads.refused.Add(1)
		return fmt.Errorf("not here, and the source storage %s answered: %w", addr, err)
	}
	if err != nil {
		s.sourceFailed(addr, cmd, err)
		return notHere
	}
	if h.Length == 0 && cmd == protocol.CmdDownloadFile {
		// An empty file, which the source serves its members only.
		s.sourceReads.refused.Add(1)
		return fmt.Errorf("download of an empty file: %w", protocol.ErrInvalid)
	}
	r.reached, r.want = true, h.Length
	if err := protocol.WriteHeader(cc, protocol.Header{Length: h.Length, Cmd: protocol.CmdResp}); err != nil {
		return err
	}
	sent, err := pc.RecvTo(h, cc)
	r.sent += sent
	if err != nil {
		s.sourceReads.failed.Add(1)
		return &connError{fmt.Errorf("read from the source storage %s: %w", addr, err)}
	}
	r.read = true
	s.sourceReads.ok.Add(1)
	return nil
}

const (
	// sourceConnectTimeout bounds the connect to a source storage (or
	// connect_timeout, when shorter): the client waits for it, where
	// upstream's storage answers ENOENT at once.
	sourceConnectTimeout = 2 * time.Second
	// sourceRetryAfter is how long after a source failed a read the reads
	// of its files are answered here (ENOENT) without asking it again.
	sourceRetryAfter = 5 * time.Second
)

// sourceFailed counts and notes a source storage that failed a read
// before its answer began: reads of its files are not asked of it for
// sourceRetryAfter. The counter is the operator's signal; the log line is
// Debug, as one comes per client read while a source is down.
func (s *Server) sourceFailed(addr string, cmd byte, err error) {
	s.sourceReads.failed.Add(1)
	s.sourceDown.Store(addr, time.Now())
	s.log.Debug("source storage failed a read of a file not here yet", "source", addr, "cmd", cmd, "err", err)
}

// sourceReadCounts counts the reads answered from a source storage
// (metrics: fdfs_storage_source_reads_total).
type sourceReadCounts struct {
	ok      atomic.Int64 // the answer was sent
	refused atomic.Int64 // the source answered an error status (ENOENT: deleted, or never made)
	failed  atomic.Int64 // the source was unreachable, or the transfer broke
}
