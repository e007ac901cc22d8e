// Package fileops is the one implementation of the gateway's file
// operations, called by both transports: the gRPC FileService
// (server/grpcapi) and the raw-byte REST routes (server/rest).
//
// It runs over Engine, the subset of the client engine
// (*fdfsengine/client.Client) the operations use, so that the services can
// be tested against an in-memory engine (fileopstest) without a cluster.
//
// What lives here, once:
//
//   - upload by kind (normal, appender, slave); a slave file gets its
//     metadata with a SET_METADATA right after the upload (the engine does
//     that itself for the other kinds), and is deleted again when that
//     fails;
//   - the cleanup of a failed upload: when a step after the upload fails
//     (the slave's metadata, or the transport finding more content than
//     announced) the new file is deleted, quietly: the step's error is what
//     the client needs to see;
//   - blame: a transport's content (Content) reports its own failures (the
//     client's stream or body broke, or ended early), which win over the
//     engine's error, since the engine then only saw the content end;
//   - the error table (errors.go): ToStatus maps the domain errors of
//     package protocol (FastDFS status codes) and transport failures to
//     gRPC codes and google.rpc.ErrorInfo reasons, with messages that name
//     no server address nor errno (Files logs the engine's error), and
//     validation errors (InvalidField, OutOfRange, NotAppender) to
//     INVALID_ARGUMENT, OUT_OF_RANGE and FAILED_PRECONDITION with a
//     google.rpc.BadRequest naming the fields. The REST routes answer the
//     HTTP status of the gRPC code (grpc-gateway's mapping);
//   - the checks both transports need the same: metadata FastDFS can
//     store (ValidateMetadata: no 0x01/0x02 separators, no empty names,
//     names of at most 64 and values of at most 256 bytes), files that
//     must be appender files (by their ID, before a storage is asked), and
//     offsets past the end of a file (OUT_OF_RANGE, told apart from other
//     EINVAL answers by the file's size);
//   - preconditions (precondition.go): expected size and If-Match against
//     the one etag definition (EntityTag, ETag), checked with a file info
//     query before the change (two steps, not atomic: they make a retry
//     after a lost reply fail with FAILED_PRECONDITION instead of applying
//     twice), and upload idempotency keys remembered in memory per gateway
//     (idempotency.go);
//   - resumable upload sessions (session*.go): an appender file named by
//     a token signed with the gateways' shared secret (no session state
//     in a gateway), writes only at the committed offset (the file's size
//     at its source storage) and at an explicit offset (MODIFY), so a
//     byte is never stored twice, finishing by dropping the session's
//     reserved metadata, and expiry: a request naming an expired session,
//     or the sweep of a gateway's own session records, deletes its file.
//
// Every error a Files method returns is final: either a gRPC status made
// by ToStatus, or an error of the transport's Content, returned as it is.
// The transports validate their own parameters, whose names and messages
// differ, with InvalidField. docs/api-behaviour.md describes the error
// model for clients.
package fileops
