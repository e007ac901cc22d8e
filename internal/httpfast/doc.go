// Package httpfast is a lean HTTP/1.x front for a net/http server.
//
// net/http costs a goroutine hand-off, a header map, a response header map
// and usually two socket writes per response; for small downloads that is
// most of the CPU a request takes. A Server reads each request head itself,
// parses it strictly (GET or HEAD, HTTP/1.1 or 1.0, origin-form target, no
// body, no Transfer-Encoding, Expect or Upgrade, no obsolete line folding,
// no bare LF; one leniency net/http lacks: runs of SP in the request line,
// which fastdfs-nginx-module's proxy sends) and offers it to an Answerer,
// which may write the whole response with one write. Any request the
// parser or the Answerer declines is handed, with its connection and for
// good, to a net/http server: the bytes already read are replayed in front
// of the rest of the stream, so net/http sees the connection as if it had
// read it from the start and produces its usual answer, errors included.
// When net/http's answer leaves the connection reusable and is complete
// once flushed (framed by a Content-Length), the connection is taken back
// (Hijack) for the fast path, less and less often for one that keeps
// needing net/http.
//
// The Server enforces an idle timeout between requests and a timeout for
// reading a request head; the Answerer handles its own write deadlines.
// Shutdown wakes the connections idle between requests, lets those
// answering finish, and shuts the net/http server down gracefully.
//
// ParseRange parses a single-range Range header, and ParseRanges one of
// several ranges (at most MaxRanges, coalesced), for both the fast paths
// and the net/http handlers behind them.
package httpfast
