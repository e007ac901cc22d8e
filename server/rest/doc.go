// Package rest serves the raw-byte REST routes of the gateway, the ones
// JSON cannot do well, next to the grpc-gateway routes of the same
// runtime.ServeMux:
//
//	POST      /v1/files                       upload (raw body or multipart/form-data)
//	GET, HEAD /v1/files/{file_id=**}:download download, with Range (one range, 206)
//	POST      /v1/files/{file_id=**}:append   append to an appender file
//	OPTIONS, POST /v1/uploads                 tus 1.0: discovery, creation
//	HEAD, PATCH, DELETE /v1/uploads/{token}   tus 1.0: offset, content, termination (tus.go)
//
// Content is streamed between the HTTP connection and the storage server's
// connection through the client engine (fdfsengine/client), by the file
// operations of server/fileops that the gRPC services share; no file is
// held in memory. The FastDFS upload command states the size before the
// content, so an upload needs its size up front: the request's
// Content-Length for a raw body, the part's Content-Length header or a
// "size" field sent before the file part for multipart. When neither is
// known (chunked bodies, most browsers' multipart forms) the content is
// spooled to an unlinked temporary file on disk first, never to memory.
//
// Downloads answer with Content-Length, a Content-Type chosen by the file's
// extension, a strong ETag (the file's CRC32, size and creation time),
// Last-Modified, Accept-Ranges, conditional requests (If-None-Match,
// If-Match, If-Modified-Since, If-Unmodified-Since, If-Range) and a single
// byte range (206); a request for several ranges always gets the whole
// file with 200, as RFC 9110 allows (no multipart/byteranges), and a
// single range past the end 416 with a JSON status (OUT_OF_RANGE).
// A body larger than 64 KiB goes out through the response's ReadFrom, so on
// a plain TCP connection the kernel splices it from the storage socket.
// Plain GETs of normal files of up to 64 KiB, and HEADs, are answered by
// the fast path (fast.go, on internal/httpfast) with the same headers and
// one socket write; MatchFast says which requests qualify.
//
// Errors are google.rpc.Status JSON bodies with the HTTP status of their
// gRPC code, produced by the mux's error handler as for the JSON routes,
// with an ErrorInfo and, for bad parameters, a BadRequest naming them.
// Raw downloads are never gzip-compressed (the gateway compresses JSON
// answers only).
package rest
