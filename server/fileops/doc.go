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
//     gRPC codes and google.rpc.ErrorInfo reasons. The REST routes answer
//     the HTTP status of the gRPC code (grpc-gateway's mapping).
//
// Every error a Files method returns is final: either a gRPC status made
// by ToStatus from the engine's error, or an error of the transport's
// Content, returned as it is. Validating requests stays with the
// transports, whose parameters and messages differ.
package fileops
