// Package grpcapi implements the fastdfs.v1 gRPC services (FileService and
// ClusterService, generated into gen/fastdfs/v1 from proto/) on top of the
// client engine fdfsengine/client, through Engine (the subset of
// *client.Client they use). FileService runs every file operation through
// server/fileops, the layer the REST routes (server/rest) share: upload by
// kind, slave metadata and the cleanup of failed uploads are there.
//
// File content is streamed straight through: an UploadFile, AppendFile or
// ModifyFile stream is read chunk by chunk by the engine while it copies the
// content to the storage server's socket, and DownloadFile sends the bytes
// coming off the storage connection in chunks of at most DownloadChunkSize.
// No file is ever held in memory; a stream uses at most one chunk of buffer.
// With Codec (the gateway's server codec) a download chunk is not copied
// again on its way out: the transport writes the very buffer it was read
// into and hands it back to the pool.
// Because the FastDFS upload commands carry the content size before the
// content, the first message of a client stream must state the exact size.
//
// Every error leaves through ToStatus (server/fileops/errors.go), the one
// table that maps the domain errors of package protocol (FastDFS status
// codes) and transport failures to gRPC codes and google.rpc.ErrorInfo
// reasons. A request
// message that does not decode is an EINVAL too (INVALID_ARGUMENT), not
// grpc-go's INTERNAL (decode.go).
package grpcapi
