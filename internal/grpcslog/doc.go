// Package grpcslog sends the log lines of gRPC and grpc-gateway (their
// grpclog calls) to the daemon's slog.Logger, at most perSecond lines a
// second. grpc-gateway writes an error line for every request header it
// cannot pass on as gRPC metadata (a value outside printable ASCII, a
// reserved name): by default those went to stderr as plain text beside the
// daemon's JSON or key=value log, one per request, so a client could flood
// the log in a format no collector of it parses.
package grpcslog
