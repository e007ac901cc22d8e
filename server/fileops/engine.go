package fileops

import (
	"context"
	"io"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
)

// Engine is the part of the client engine the file operations use;
// *client.Client implements it.
type Engine interface {
	// Upload stores a new normal file (and opt.Meta, deleting the file
	// again if that fails) and returns its file ID.
	Upload(ctx context.Context, r io.Reader, size int64, opt client.UploadOptions) (string, error)
	// UploadAppender stores a new appender file, as Upload.
	UploadAppender(ctx context.Context, r io.Reader, size int64, opt client.UploadOptions) (string, error)
	// UploadSlave stores a slave file of masterID (no metadata).
	UploadSlave(ctx context.Context, r io.Reader, size int64, masterID, prefix, ext string) (string, error)
	// Download writes the bytes [offset, offset+length) of the file to w
	// (length 0: to the end).
	Download(ctx context.Context, fileID string, offset, length int64, w io.Writer) (int64, error)
	Delete(ctx context.Context, fileID string) error
	GetFileInfo(ctx context.Context, fileID string) (*client.FileInfo, error)
	// SetMetadata replaces (protocol.MetaOverwrite) or merges into
	// (protocol.MetaMerge) the file's metadata.
	SetMetadata(ctx context.Context, fileID string, meta map[string]string, flag byte) error
	// GetMetadata fails with ENOENT for a file without metadata too.
	GetMetadata(ctx context.Context, fileID string) (map[string]string, error)
	Append(ctx context.Context, fileID string, r io.Reader, size int64) error
	Modify(ctx context.Context, fileID string, offset int64, r io.Reader, size int64) error
	Truncate(ctx context.Context, fileID string, size int64) error
	RegenerateAppender(ctx context.Context, fileID string) (string, error)
	// StatSource returns the size and metadata (and, withCRC, the CRC32)
	// of the file at the storage that takes its changes, never a replica
	// that may lag.
	StatSource(ctx context.Context, fileID string, withCRC bool) (*client.SourceState, error)
}

var _ Engine = (*client.Client)(nil)
