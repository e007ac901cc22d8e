package storagenode

import (
	"errors"
	"net"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/evloop"
)

// maxInlineBody is the largest request body answered on the event loop
// (bytes): a DOWNLOAD_FILE body is two numbers, a group and a file name.
const maxInlineBody = 1024

// loopHandler is the storage as an evloop.Handler: small downloads, file
// info and metadata reads, and ACTIVE_TEST are answered on the loops, and a
// connection is detached to serveConn at its first other request (an
// upload, a peer's sync). A client that asks a file's info or metadata
// before downloading it (a pooled connection of the Java or PHP client)
// thus keeps the loop's cheaper downloads.
type loopHandler struct{ s *Server }

// Open applies allow_hosts and max_connections, as acceptLoop does.
func (h loopHandler) Open(c *evloop.Conn) bool {
	s := h.s
	if s.ctx.Err() != nil || s.draining.Load() {
		return false
	}
	if !s.allow.Allows(c.RemoteAddr()) {
		s.log.Warn("peer not in allow_hosts, refusing", "peer", c.RemoteAddr().String())
		return false
	}
	select {
	case s.connSem <- struct{}{}:
	default:
		s.log.Warn("max_connections reached, dropping client", "client", c.RemoteAddr().String())
		return false
	}
	s.stats.connOpened()
	return true
}

func (loopHandler) Inline(_ *evloop.Conn, hd protocol.Header) bool {
	switch hd.Cmd {
	case protocol.CmdDownloadFile, protocol.CmdQueryFileInfo, protocol.CmdGetMetadata:
		return hd.Length <= maxInlineBody
	case protocol.CmdActiveTest, protocol.CmdQuit:
		return hd.Length == 0
	}
	return false
}

func (h loopHandler) Serve(c *evloop.Conn, hd protocol.Header, body, out []byte) ([]byte, evloop.Action) {
	if h.s.access == nil {
		return h.serve(c, hd, body, out)
	}
	began, start := time.Now(), len(out)
	out, act := h.serve(c, hd, body, out)
	if act == evloop.Next && len(out) >= start+protocol.HeaderSize {
		// The reply's header is at start; its status byte is the last.
		h.s.access.record(c.RemoteAddr(), hd.Cmd, accessName(hd.Cmd, body), out[start+protocol.HeaderSize-1],
			began, int64(len(body))+protocol.HeaderSize, int64(len(out)-start))
	}
	return out, act
}

func (h loopHandler) serve(c *evloop.Conn, hd protocol.Header, body, out []byte) ([]byte, evloop.Action) {
	switch hd.Cmd {
	case protocol.CmdQuit:
		return out, evloop.Close
	case protocol.CmdActiveTest:
		// A pipelining probe (sync_batch.go) is answered in kind.
		var st byte
		if hd.Status == protocol.PipelineProbe {
			st = protocol.PipelineProbe
		}
		return protocol.AppendPacket(out, protocol.CmdResp, st, nil), evloop.Next
	case protocol.CmdQueryFileInfo:
		return h.s.fileInfoInline(c, hd, body, out)
	case protocol.CmdGetMetadata:
		return h.s.metadataInline(c, body, out)
	}
	return h.s.downloadInline(c, body, out)
}

// fileInfoInline answers QUERY_FILE_INFO as handleQueryFileInfo does. One
// that must read the whole file for its CRC32 (an appender or slave file)
// is handed off: a large file would hold the loop.
func (s *Server) fileInfoInline(c *evloop.Conn, hd protocol.Header, body, out []byte) ([]byte, evloop.Action) {
	began := time.Now()
	n, path, err := s.fileRequest(body)
	if err == nil && needsCRC(n, hd.Status) {
		return out, evloop.Handoff
	}
	var resp []byte
	if err == nil {
		resp, err = s.fileInfo(n, path, hd.Status)
	}
	if s.peersFor(c.RemoteAddr(), err) != nil {
		return out, evloop.Handoff // asked of the source there (source_read.go)
	}
	return s.inlineReply(c, protocol.CmdQueryFileInfo, began, out, resp, err), evloop.Next
}

// metadataInline answers GET_METADATA as handleGetMetadata does; a
// metadata file larger than smallDownload is handed off (sendfile).
func (s *Server) metadataInline(c *evloop.Conn, body, out []byte) ([]byte, evloop.Action) {
	began := time.Now()
	var r readAttempt
	out, err := s.appendMetadata(body, out, &r)
	if s.peersFor(c.RemoteAddr(), err) != nil || errors.Is(err, errNotSmall) {
		return out, evloop.Handoff // a large metadata file, or one asked of the source there
	}
	s.countRead(&r, err, getMetaCounters)
	return s.inlineReply(c, protocol.CmdGetMetadata, began, out, nil, err), evloop.Next
}

// inlineReply observes an inline request that began at began and appends
// its reply to out: resp with status 0, or err's status.
func (s *Server) inlineReply(c *evloop.Conn, cmd byte, began time.Time, out, resp []byte, err error) []byte {
	s.reqs.Observe(cmd, protocol.StatusOf(err), time.Since(began))
	if err != nil {
		st := logFailed(s.log.With("client", c.RemoteAddr().String()), cmd, err)
		return protocol.AppendPacket(out, protocol.CmdResp, st, nil)
	}
	if resp != nil {
		return protocol.AppendPacket(out, protocol.CmdResp, 0, resp)
	}
	return out
}

// downloadInline answers a DOWNLOAD_FILE of up to smallDownload bytes as
// handleDownload does; a longer one is handed off to serveConn, which
// sends it by sendfile. It is counted once read, before the loop writes
// it, as upstream counts it.
func (s *Server) downloadInline(c *evloop.Conn, body, out []byte) ([]byte, evloop.Action) {
	began := time.Now()
	var r readAttempt
	rf, offset, n, err := s.openDownload(body, &r, smallDownload, false)
	var mo *membersOnly
	if errors.Is(err, errNotSmall) || errors.As(err, &mo) {
		return out, evloop.Handoff // serveConn knows who asks
	}
	if s.peersFor(c.RemoteAddr(), err) != nil {
		return out, evloop.Handoff // asked of the source there (source_read.go)
	}
	if err == nil {
		out, err = s.appendSmall(out, rf, offset, n, &r)
		rf.Close()
		if s.peersFor(c.RemoteAddr(), err) != nil {
			return out, evloop.Handoff // a disk fault: asked of the peers there
		}
	}
	s.countRead(&r, err, downloadCounters)
	return s.inlineReply(c, protocol.CmdDownloadFile, began, out, nil, err), evloop.Next
}

// Detach hands the connection to serveConn with what was read of it.
func (h loopHandler) Detach(_ *evloop.Conn, nc net.Conn, pending []byte) {
	s := h.s
	if !s.track(nc, true) {
		nc.Close()
		<-s.connSem
		s.stats.connClosed()
		return
	}
	s.wg.Add(1)
	go s.serveTracked(nc, pending)
}

// Closed gives the connection's max_connections slot back.
func (h loopHandler) Closed(*evloop.Conn) {
	<-h.s.connSem
	h.s.stats.connClosed()
}
