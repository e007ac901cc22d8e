package storagenode

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"syscall"
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
//
// A file this storage holds on a store path that cannot give it now (the
// disk unmounted or gone, so that the file's data directory is missing,
// or failing with I/O errors: pathhealth.go) is lost rather than absent:
// any file of the group, of any age, is asked of each ACTIVE peer in turn,
// its source first, until one has it. Upstream's storage answers ENOENT
// or EIO until the disk is replaced and refilled; the trackers keep
// sending a share of the reads there meanwhile.

// absentError is a read's answer for a file this storage does not hold,
// or cannot give (lost: its store path's disk is gone or failing): name
// is that file, which the group's other storages may hold (peersFor).
type absentError struct {
	err  error
	name *fileid.Name
	lost bool
}

func (e *absentError) Error() string { return e.err.Error() }
func (e *absentError) Unwrap() error { return e.err }

// absent marks err, when it says that file n is missing here or that its
// disk cannot give it, as an *absentError; any other err is returned as
// is. A lost file is EIO, never ENOENT: it is not gone from the group
// (a client, or a cache in front of the HTTP side, must not take it for
// deleted; a member must not take it for deleted here).
func (st *store) absent(err error, n *fileid.Name) error {
	if err == nil || !missingFile(err) && !diskFault(err) {
		return err
	}
	if !st.lost(n, err) {
		return &absentError{err: err, name: n}
	}
	if !diskFault(err) {
		err = fmt.Errorf("%s is on a store path that cannot be reached now (%v): %w", n.Name(), err, syscall.EIO)
	}
	return &absentError{err: err, name: n, lost: true}
}

// peersFor returns the addresses (ip:port) of the storages to ask, in
// turn, when err is a read's *absentError and the client at remote (no
// member) may be answered from there: for a lost file every ACTIVE peer,
// its source first; else the source of a file that may be on its way.
func (s *Server) peersFor(remote net.Addr, err error) []string {
	var ab *absentError
	if !errors.As(err, &ab) {
		return nil
	}
	m := s.repl.members.Load()
	if m == nil || isMember(*m, remote) {
		return nil
	}
	n := ab.name
	if ab.lost {
		return s.repl.holders(n)
	}
	if s.isLocalSource(n.Source) || time.Since(time.Unix(n.Timestamp, 0)) > s.params.Load().SyncFileMaxDelay {
		return nil
	}
	if addr, ok := s.repl.peerAddr(n); ok {
		return []string{addr}
	}
	return nil
}

// holders lists the group's ACTIVE peers that may hold file n, in the
// order to ask them: its source first, when that is one of them.
func (r *replicator) holders(n *fileid.Name) []string {
	src, _ := r.peerAddr(n)
	var out []string
	for _, b := range r.activePeers() {
		addr := net.JoinHostPort(b.IP, strconv.Itoa(int(b.Port)))
		if addr == src {
			out = append([]string{addr}, out...)
		} else {
			out = append(out, addr)
		}
	}
	return out
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

// readFromPeers answers a read request (cmd, the header's status byte
// and body) with the answer of the first of addrs (peersFor's) that holds
// the file. notHere is this storage's own answer, peersFor's error: until
// the reply's header goes out a failure is answered with the last peer's
// refusal (its error status) when every peer answered, else with notHere
// (one that could not be asked may hold the file); after it, the
// connection is closed.
func (s *Server) readFromPeers(cc *conn, cmd, status byte, body []byte, addrs []string, notHere error, r *readAttempt) error {
	counts := &s.sourceReads
	if ab := (*absentError)(nil); errors.As(notHere, &ab) && ab.lost {
		counts = &s.lostReads
	}
	var refusal error
	unasked := false
	for _, addr := range addrs {
		begun, err := s.readFromPeer(cc, cmd, status, body, addr, r, counts)
		switch {
		case begun:
			return err
		case err != nil:
			refusal = err
		default:
			unasked = true
		}
	}
	if refusal == nil || unasked {
		return notHere
	}
	return refusal
}

// readFromPeer asks the storage at addr. begun says the reply's header
// went out (err is then the transfer's); else err is the peer's refusal,
// or nil when it could not be asked or broke before answering.
func (s *Server) readFromPeer(cc *conn, cmd, status byte, body []byte, addr string, r *readAttempt, counts *sourceReadCounts) (begun bool, err error) {
	if last, ok := s.sourceDown.Load(addr); ok && time.Since(last.(time.Time)) < sourceRetryAfter {
		counts.failed.Add(1)
		return false, nil
	}
	d := s.dialer()
	d.ConnectTimeout = min(d.ConnectTimeout, sourceConnectTimeout)
	pc, err := s.dialPeerWith(s.ctx, d, addr)
	if err != nil {
		s.sourceFailed(addr, cmd, err, counts)
		return false, nil
	}
	defer pc.hangUp()
	var h protocol.Header
	if err = pc.Send(cmd, status, body, nil, 0); err == nil {
		h, err = pc.RecvHeader()
	}
	var se *protocol.StatusError
	if errors.As(err, &se) {
		counts.refused.Add(1)
		return false, fmt.Errorf("not here, and the storage %s answered: %w", addr, err)
	}
	if err != nil {
		s.sourceFailed(addr, cmd, err, counts)
		return false, nil
	}
	if h.Length == 0 && cmd == protocol.CmdDownloadFile {
		// An empty file, which a storage serves its members only.
		counts.refused.Add(1)
		return false, fmt.Errorf("download of an empty file: %w", protocol.ErrInvalid)
	}
	r.reached, r.want = true, h.Length
	if err := protocol.WriteHeader(cc, protocol.Header{Length: h.Length, Cmd: protocol.CmdResp}); err != nil {
		return true, err
	}
	sent, err := pc.RecvTo(h, cc)
	r.sent += sent
	if err != nil {
		counts.failed.Add(1)
		return true, &connError{fmt.Errorf("read from the storage %s: %w", addr, err)}
	}
	r.read = true
	counts.ok.Add(1)
	return true, nil
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

// sourceFailed counts and notes a storage that failed a read before its
// answer began: reads are not asked of it for sourceRetryAfter. The
// counter is the operator's signal; the log line is Debug, as one comes
// per client read while a peer is down.
func (s *Server) sourceFailed(addr string, cmd byte, err error, counts *sourceReadCounts) {
	counts.failed.Add(1)
	s.sourceDown.Store(addr, time.Now())
	s.log.Debug("storage failed a read asked of it", "peer", addr, "cmd", cmd, "err", err)
}

// sourceReadCounts counts the reads asked of other storages (metrics:
// fdfs_storage_source_reads_total for files not here yet,
// fdfs_storage_lost_reads_total for files a store path cannot give).
type sourceReadCounts struct {
	ok      atomic.Int64 // the answer was sent
	refused atomic.Int64 // the storage answered an error status (ENOENT: deleted, or never made)
	failed  atomic.Int64 // the storage was unreachable, or the transfer broke
}
