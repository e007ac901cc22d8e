// Package grpcapi holds the end-to-end tests of the fastdfs.v1 gRPC API:
// every RPC of FileService and ClusterService through a real gRPC client
// connected over loopback TCP to server/grpcapi, which talks to a real
// in-process cluster (tests/cluster) storing files on disk.
package grpcapi
