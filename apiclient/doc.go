// Package apiclient is a Go client for the gateway's FileService that moves
// file content without copying it into protobuf messages.
//
// The generated stubs work too, but they give every received chunk a
// freshly allocated []byte (gRPC's frames are copied into one buffer, then
// into the message) and copy every sent chunk into a new buffer. For a
// large file that is two extra copies per byte plus the garbage they make,
// which on a small machine costs more CPU than the transport itself.
// Download hands the content of each DownloadFile message to an io.Writer
// straight from gRPC's receive buffers; Upload reads an io.Reader into
// pooled buffers that the transport writes from and returns.
//
// Both work by passing a per-call codec (grpc.ForceCodecV2) that encodes
// and decodes the content messages themselves and leaves every other
// message to the standard protobuf codec, so they need nothing from the
// server beyond the published API.
package apiclient
