// Package tcpopt sets the TCP options the servers need beyond Go's
// defaults (Go already turns Nagle's algorithm off on every TCP
// connection).
//
// QuickAck exists for clients that write a request in several pieces with
// Nagle's algorithm on, as the C client library and fastdfs-client-java
// do (the 10-byte header, then the body). On a reused connection Linux
// treats the exchange as interactive and delays its ACK of the header by
// up to 40 ms, hoping to piggyback it on a reply; the client's kernel
// holds the body until that ACK comes, so every request stalls 40 ms.
// Upstream's libserverframe re-arms TCP_QUICKACK on its reads for the
// same reason.
package tcpopt
