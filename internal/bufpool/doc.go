// Package bufpool is a gRPC buffer pool (mem.BufferPool) that reuses
// buffers without zeroing them.
//
// grpc-go's own pools clear every buffer they hand out again. Everything
// that takes a buffer from a transport's pool fills it completely before
// anyone reads it (a frame's payload is read in full, a message is
// marshalled or copied in full, a content chunk is read from its source
// and sent up to the length read), so the clearing only costs: in a large
// download it was the client's biggest single cost after the copies
// themselves. grpc-go's ALTS records use unzeroed pools for the same
// reason.
package bufpool
