package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Reply bounds for storage replies (bytes).
const (
	maxNameReply = protocol.GroupNameLen + protocol.MaxStorageFilenameLn
	// maxMetaReply bounds GET_METADATA replies; the storage itself
	// refuses metadata larger than its network buffer (256 KB by default).
	maxMetaReply = 16 << 20
)

// UploadOptions are the optional parts of an upload.
type UploadOptions struct {
	// Group selects the group (QUERY_STORE_WITH_GROUP_ONE); "" lets the
	// tracker choose.
	Group string
	// Ext is the file extension without the dot, at most 6 characters
	// (longer ones are truncated as the C client does).
	Ext string
	// Meta, when not empty, is stored with SET_METADATA (overwrite) right
	// after the upload, on the same storage. If that fails the new file is
	// deleted and the upload fails.
	Meta map[string]string
	// Storage, when set, is the storage to upload to, with its store path
	// (protocol.StoreAnyPath lets the storage choose), instead of the one
	// a tracker picks; Group is then not used (the storage names its own).
	Storage *Server
}

// FileInfo describes a stored file: what the storage reports
// (QUERY_FILE_INFO) and what the file ID itself encodes.
type FileInfo struct {
	FileID     string
	Group      string
	Size       int64     // bytes, from the storage
	CreateTime time.Time // mtime of the stored file, from the storage
	CRC32      uint32    // from the name, recomputed by the storage for appender/slave files
	SourceIP   string    // source storage IP as the storage reports it
	Name       *fileid.Name
}

// Type is "appender", "slave", "trunk" or "normal", from the file name.
func (fi *FileInfo) Type() string { return FileType(fi.Name) }

// FileType classifies a parsed name as upstream's fdfs_file_info does.
func FileType(n *fileid.Name) string {
	switch {
	case n.Appender:
		return "appender"
	case n.Slave:
		return "slave"
	case n.Trunk:
		return "trunk"
	}
	return "normal"
}

// DecodeFileID decodes a file ID locally (no server involved): group,
// source storage, create time, size (-1 when the name cannot tell) and
// CRC32.
func DecodeFileID(fileID string) (group string, n *fileid.Name, err error) {
	group, name, err := fileid.Split(fileID)
	if err != nil {
		return "", nil, err
	}
	n, err = fileid.Parse(name)
	if err != nil {
		return "", nil, err
	}
	return group, n, nil
}

// Upload stores size bytes read from r as a new normal file and returns
// its file ID. The content is copied straight to the socket.
func (cl *Client) Upload(ctx context.Context, r io.Reader, size int64, opt UploadOptions) (string, error) {
	return cl.upload(ctx, "upload", protocol.CmdUploadFile, r, size, opt)
}

// UploadAppender stores a new appender file (one that Append, Modify and
// Truncate can change later).
func (cl *Client) UploadAppender(ctx context.Context, r io.Reader, size int64, opt UploadOptions) (string, error) {
	return cl.upload(ctx, "upload appender", protocol.CmdUploadAppenderFile, r, size, opt)
}

func (cl *Client) upload(ctx context.Context, op string, cmd byte, r io.Reader, size int64, opt UploadOptions) (string, error) {
	if size < 0 {
		return "", opErr(op, "", "", fmt.Errorf("size %d: %w", size, protocol.ErrInvalid))
	}
	srv := opt.Storage
	var err error
	if srv == nil {
		if srv, err = cl.QueryStore(ctx, opt.Group); err != nil {
			return "", opErr(op, "", "", err)
		}
	}
	req := &protocol.UploadRequest{StorePathIndex: srv.StorePathIndex, FileSize: size, Ext: normExt(opt.Ext)}
	var resp *protocol.FileResponse
	err = cl.withConn(ctx, srv.Addr(), func(c *conn) error {
		if err := c.Send(cmd, 0, req.Encode(), r, size); err != nil {
			return err
		}
		resp, err = recvFileResponse(c)
		return err
	})
	if err != nil {
		return "", opErr(op, "", srv.Addr(), noRoom(size, err))
	}
	fileID := fileid.Join(resp.Group, resp.Name)
	if len(opt.Meta) > 0 {
		if err := cl.setMetaAt(ctx, srv.Addr(), resp.Group, resp.Name, opt.Meta, protocol.MetaOverwrite); err != nil {
			// Like the C client, do not leave a file without its metadata;
			// the delete runs even if ctx was cancelled.
			if derr := cl.deleteAt(context.WithoutCancel(ctx), srv.Addr(), resp.Group, resp.Name); derr != nil {
				err = errors.Join(err, fmt.Errorf("deleting the uploaded file: %w", derr))
			}
			return "", opErr(op+" (set metadata)", fileID, srv.Addr(), err)
		}
	}
	return fileID, nil
}

// UploadSlave stores a slave file of masterID: its name is the master's
// name without extension + prefix + ext (the master's ext when ext is
// empty). It goes to the storage holding the master (QUERY_UPDATE).
func (cl *Client) UploadSlave(ctx context.Context, r io.Reader, size int64, masterID, prefix, ext string) (string, error) {
	const op = "upload slave"
	if size < 0 || prefix == "" || len(prefix) > protocol.SlavePrefixLen {
		return "", opErr(op, masterID, "", fmt.Errorf("size %d, prefix %q: %w", size, prefix, protocol.ErrInvalid))
	}
	_, master, err := fileid.Split(masterID)
	if err != nil {
		return "", opErr(op, masterID, "", err)
	}
	srv, err := cl.QueryUpdate(ctx, masterID)
	if err != nil {
		return "", opErr(op, masterID, "", err)
	}
	req := &protocol.UploadSlaveRequest{MasterName: master, FileSize: size, Prefix: prefix, Ext: normExt(ext)}
	var resp *protocol.FileResponse
	err = cl.withConn(ctx, srv.Addr(), func(c *conn) error {
		if err := c.Send(protocol.CmdUploadSlaveFile, 0, req.Encode(), r, size); err != nil {
			return err
		}
		resp, err = recvFileResponse(c)
		return err
	})
	if err != nil {
		return "", opErr(op, masterID, srv.Addr(), noRoom(size, err))
	}
	return fileid.Join(resp.Group, resp.Name), nil
}

// noRoom says what ENOSPC from a storage means for a write of size bytes.
func noRoom(size int64, err error) error {
	if errors.Is(err, protocol.ErrNoSpace) {
		return fmt.Errorf("the storage has no room for %d more bytes above reserved_storage_space: %w", size, err)
	}
	return err
}

// Download streams the file's bytes [offset, offset+length) to w (length 0
// = to the end of the file) and returns the number of bytes written.
func (cl *Client) Download(ctx context.Context, fileID string, offset, length int64, w io.Writer) (int64, error) {
	const op = "download"
	if offset < 0 || length < 0 {
		return 0, opErr(op, fileID, "", fmt.Errorf("offset %d, length %d: %w", offset, length, protocol.ErrInvalid))
	}
	group, name, err := fileid.Split(fileID)
	if err != nil {
		return 0, opErr(op, fileID, "", err)
	}
	req := &protocol.DownloadRequest{Offset: offset, Length: length, Group: group, Name: name}
	var n int64
	addr, err := cl.withReader(ctx, fileID, true, func(addr string) (bool, error) {
		err := cl.withConn(ctx, addr, func(c *conn) error {
			if err := c.Send(protocol.CmdDownloadFile, 0, req.Encode(), nil, 0); err != nil {
				return err
			}
			h, err := c.RecvHeader()
			if err != nil {
				return err
			}
			if length > 0 && h.Length > length {
				return fmt.Errorf("storage sends %d bytes for a %d-byte range: %w", h.Length, length, protocol.ErrInvalid)
			}
			n, err = c.RecvTo(h, w)
			return err
		})
		return n > 0, err
	})
	return n, opErr(op, fileID, addr, err)
}

// Delete deletes a file (and its metadata) on its source storage.
func (cl *Client) Delete(ctx context.Context, fileID string) error {
	group, name, srv, err := cl.routeUpdate(ctx, "delete", fileID)
	if err != nil {
		return err
	}
	return opErr("delete", fileID, srv.Addr(), cl.deleteAt(ctx, srv.Addr(), group, name))
}

func (cl *Client) deleteAt(ctx context.Context, addr, group, name string) error {
	body := (&protocol.FileRequest{Group: group, Name: name}).Encode()
	return cl.withConn(ctx, addr, func(c *conn) error {
		_, err := c.RoundTrip(protocol.CmdDeleteFile, body, 0)
		return err
	})
}

// GetFileInfo asks a storage for the file's size, create time, CRC32 and
// source (QUERY_FILE_INFO) and decodes the file ID locally as well.
func (cl *Client) GetFileInfo(ctx context.Context, fileID string) (*FileInfo, error) {
	return cl.GetFileInfoFlags(ctx, fileID, 0)
}

// GetFileInfoFlags is GetFileInfo with the request's flags:
// protocol.FileInfoNoCRC (no CRC32 computed for appender and slave files,
// which reads them whole) and protocol.FileInfoQuietMissing (the storage
// does not log a missing file).
func (cl *Client) GetFileInfoFlags(ctx context.Context, fileID string, flags byte) (*FileInfo, error) {
	const op = "file info"
	group, n, err := DecodeFileID(fileID)
	if err != nil {
		return nil, opErr(op, fileID, "", err)
	}
	_, name, err := fileid.Split(fileID)
	if err != nil {
		return nil, opErr(op, fileID, "", err)
	}
	body := (&protocol.FileRequest{Group: group, Name: name}).Encode()
	var r *protocol.FileInfoResponse
	addr, err := cl.withReader(ctx, fileID, true, func(addr string) (bool, error) {
		return false, cl.withConn(ctx, addr, func(c *conn) error {
			if err := c.Send(protocol.CmdQueryFileInfo, flags, body, nil, 0); err != nil {
				return err
			}
			b, err := c.Recv(protocol.FileInfoRespLenIPv6)
			if err == nil {
				r, err = protocol.DecodeFileInfoResponse(b)
			}
			return err
		})
	})
	if err != nil {
		return nil, opErr(op, fileID, addr, err)
	}
	return &FileInfo{
		FileID:     fileID,
		Group:      group,
		Size:       r.Size,
		CreateTime: time.Unix(r.CreateTime, 0),
		CRC32:      r.CRC32,
		SourceIP:   r.SourceIP,
		Name:       n,
	}, nil
}

// SetMetadata replaces (protocol.MetaOverwrite) or merges into
// (protocol.MetaMerge) the file's metadata.
func (cl *Client) SetMetadata(ctx context.Context, fileID string, meta map[string]string, flag byte) error {
	const op = "set metadata"
	if flag != protocol.MetaOverwrite && flag != protocol.MetaMerge {
		return opErr(op, fileID, "", fmt.Errorf("metadata flag %q: %w", flag, protocol.ErrInvalid))
	}
	group, name, srv, err := cl.routeUpdate(ctx, op, fileID)
	if err != nil {
		return err
	}
	return opErr(op, fileID, srv.Addr(), cl.setMetaAt(ctx, srv.Addr(), group, name, meta, flag))
}

func (cl *Client) setMetaAt(ctx context.Context, addr, group, name string, meta map[string]string, flag byte) error {
	body := (&protocol.SetMetadataRequest{Name: name, Flag: flag, Group: group, Meta: protocol.PackMeta(meta)}).Encode()
	return cl.withConn(ctx, addr, func(c *conn) error {
		_, err := c.RoundTrip(protocol.CmdSetMetadata, body, 0)
		return err
	})
}

// GetMetadata returns the file's metadata; a file without metadata gives
// an error wrapping protocol.ErrNotFound, as upstream.
func (cl *Client) GetMetadata(ctx context.Context, fileID string) (map[string]string, error) {
	const op = "get metadata"
	group, name, err := fileid.Split(fileID)
	if err != nil {
		return nil, opErr(op, fileID, "", err)
	}
	body := (&protocol.FileRequest{Group: group, Name: name}).Encode()
	var meta map[string]string
	addr, err := cl.withReader(ctx, fileID, false, func(addr string) (bool, error) {
		return false, cl.withConn(ctx, addr, func(c *conn) error {
			b, err := c.RoundTrip(protocol.CmdGetMetadata, body, maxMetaReply)
			if err == nil {
				meta, err = protocol.UnpackMeta(b)
			}
			return err
		})
	})
	if err != nil {
		return nil, opErr(op, fileID, addr, err)
	}
	return meta, nil
}

// Append appends size bytes from r to an appender file.
func (cl *Client) Append(ctx context.Context, fileID string, r io.Reader, size int64) error {
	const op = "append"
	if size < 0 {
		return opErr(op, fileID, "", fmt.Errorf("size %d: %w", size, protocol.ErrInvalid))
	}
	_, name, srv, err := cl.routeUpdate(ctx, op, fileID)
	if err != nil {
		return err
	}
	req := &protocol.AppendRequest{Name: name, Length: size}
	return opErr(op, fileID, srv.Addr(), noRoom(size, cl.withConn(ctx, srv.Addr(), func(c *conn) error {
		if err := c.Send(protocol.CmdAppendFile, 0, req.Encode(), r, size); err != nil {
			return err
		}
		_, err := c.Recv(0)
		return err
	})))
}

// Modify overwrites size bytes of an appender file at offset with bytes
// from r (offset may be at most the current size; the file may grow).
func (cl *Client) Modify(ctx context.Context, fileID string, offset int64, r io.Reader, size int64) error {
	const op = "modify"
	if size < 0 || offset < 0 {
		return opErr(op, fileID, "", fmt.Errorf("offset %d, size %d: %w", offset, size, protocol.ErrInvalid))
	}
	_, name, srv, err := cl.routeUpdate(ctx, op, fileID)
	if err != nil {
		return err
	}
	req := &protocol.ModifyRequest{Name: name, Offset: offset, Length: size}
	return opErr(op, fileID, srv.Addr(), cl.withConn(ctx, srv.Addr(), func(c *conn) error {
		if err := c.Send(protocol.CmdModifyFile, 0, req.Encode(), r, size); err != nil {
			return err
		}
		_, err := c.Recv(0)
		return err
	}))
}

// Truncate sets the size of an appender file.
func (cl *Client) Truncate(ctx context.Context, fileID string, size int64) error {
	const op = "truncate"
	if size < 0 {
		return opErr(op, fileID, "", fmt.Errorf("size %d: %w", size, protocol.ErrInvalid))
	}
	_, name, srv, err := cl.routeUpdate(ctx, op, fileID)
	if err != nil {
		return err
	}
	body := (&protocol.TruncateRequest{Name: name, NewSize: size}).Encode()
	return opErr(op, fileID, srv.Addr(), cl.withConn(ctx, srv.Addr(), func(c *conn) error {
		_, err := c.RoundTrip(protocol.CmdTruncateFile, body, 0)
		return err
	}))
}

// RegenerateAppender turns an appender file into a normal file under a new
// name (REGENERATE_APPENDER_FILENAME) and returns the new file ID.
func (cl *Client) RegenerateAppender(ctx context.Context, fileID string) (string, error) {
	const op = "regenerate appender"
	_, name, srv, err := cl.routeUpdate(ctx, op, fileID)
	if err != nil {
		return "", err
	}
	var resp *protocol.FileResponse
	err = cl.withConn(ctx, srv.Addr(), func(c *conn) error {
		if err := c.Send(protocol.CmdRegenerateAppenderFilename, 0, []byte(name), nil, 0); err != nil {
			return err
		}
		var err error
		resp, err = recvFileResponse(c)
		return err
	})
	if err != nil {
		return "", opErr(op, fileID, srv.Addr(), err)
	}
	return fileid.Join(resp.Group, resp.Name), nil
}

// routeUpdate splits fileID and asks a tracker for the storage that takes
// changes to it (QUERY_UPDATE). The file is about to change, so its read
// route is no longer cached: the next read asks the tracker again.
func (cl *Client) routeUpdate(ctx context.Context, op, fileID string) (group, name string, srv *Server, err error) {
	group, name, err = fileid.Split(fileID)
	if err != nil {
		return "", "", nil, opErr(op, fileID, "", err)
	}
	cl.routes.forget(fileID)
	if srv, err = cl.QueryUpdate(ctx, fileID); err != nil {
		return "", "", nil, opErr(op, fileID, "", err)
	}
	return group, name, srv, nil
}

func recvFileResponse(c *conn) (*protocol.FileResponse, error) {
	b, err := c.Recv(maxNameReply)
	if err != nil {
		return nil, err
	}
	return protocol.DecodeFileResponse(b)
}

// normExt strips a leading dot and truncates to the 6-byte ext field.
func normExt(ext string) string {
	ext = strings.TrimPrefix(ext, ".")
	if len(ext) > protocol.ExtNameLen {
		ext = ext[:protocol.ExtNameLen]
	}
	return ext
}

// SourceState is a file as the storage that takes its changes has it now.
type SourceState struct {
	Size int64
	// CRC32 of the content, when asked for (StatSource's withCRC).
	CRC32 uint32
	// Meta is the file's metadata, nil when it has none.
	Meta map[string]string
}

// StatSource asks the storage that takes changes to the file (QUERY_UPDATE)
// for its size and metadata, on one connection. Unlike GetFileInfo and
// GetMetadata it never reads a replica, which may lag behind the latest
// append. The CRC32, which a storage computes by reading the whole content
// of an appender file, is asked for only withCRC.
func (cl *Client) StatSource(ctx context.Context, fileID string, withCRC bool) (*SourceState, error) {
	const op = "stat at source"
	group, name, srv, err := cl.routeUpdate(ctx, op, fileID)
	if err != nil {
		return nil, err
	}
	body := (&protocol.FileRequest{Group: group, Name: name}).Encode()
	st := &SourceState{}
	err = cl.withConn(ctx, srv.Addr(), func(c *conn) error {
		flags := protocol.FileInfoNoCRC
		if withCRC {
			flags = 0
		}
		if err := c.Send(protocol.CmdQueryFileInfo, flags, body, nil, 0); err != nil {
			return err
		}
		b, err := c.Recv(protocol.FileInfoRespLenIPv6)
		if err != nil {
			return err
		}
		fi, err := protocol.DecodeFileInfoResponse(b)
		if err != nil {
			return err
		}
		st.Size, st.CRC32 = fi.Size, fi.CRC32
		b, err = c.RoundTrip(protocol.CmdGetMetadata, body, maxMetaReply)
		if errors.Is(err, protocol.ErrNotFound) {
			// The file exists (it has a size): it has no metadata.
			return nil
		}
		if err == nil {
			st.Meta, err = protocol.UnpackMeta(b)
		}
		return err
	})
	if err != nil {
		return nil, opErr(op, fileID, srv.Addr(), err)
	}
	return st, nil
}
