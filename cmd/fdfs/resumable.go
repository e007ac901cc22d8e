package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/fdfsgo/fdfs/apiclient"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/internal/backoff"
	"github.com/fdfsgo/fdfs/server/fileops"
)

// resumeState is what upload-resumable keeps between runs (--state): the
// session of one version of the file.
type resumeState struct {
	Token string `json:"token"`
	Size  int64  `json:"size"`
	MTime int64  `json:"mtime_ns"`
}

type resumableOptions struct {
	grpcAddr, key, state, group, ext string
	meta                             []string
	chunk                            int
	retries                          int
	tls, insecure                    bool
}

func newUploadResumableCmd() *cobra.Command {
	var o resumableOptions
	cmd := &cobra.Command{
		Use:   "upload-resumable FILE",
		Short: "Upload a file through the gateway in a resumable upload session",
		Long: `Upload FILE through the gateway's upload sessions (gRPC): the session's
token is kept in a state file (--state, default FILE.fdfs-upload) until the
upload is finished, so that a run that was interrupted (killed, network
lost, gateway or storage restarted) is resumed by the next run from the
bytes the cluster has, and no byte is sent twice. Failed writes are retried
from the committed offset (--retries). The session declares the file's
size and CRC-32, which the gateway checks before finishing. Prints the
file ID.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.grpcAddr == "" {
				return errors.New("--grpc host:port of the gateway is required")
			}
			if o.chunk < 1 || o.chunk > 2<<20 {
				return errors.New("--chunk must be between 1 and 2097152 bytes")
			}
			if o.state == "" {
				o.state = args[0] + ".fdfs-upload"
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			id, err := uploadResumable(ctx, o, args[0], cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), id)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.grpcAddr, "grpc", "", "gateway gRPC address host:port")
	f.StringVar(&o.key, "key", os.Getenv("FDFS_API_KEY"), "read-write API key (default $FDFS_API_KEY)")
	f.StringVar(&o.state, "state", "", "state file of the session (default FILE.fdfs-upload)")
	f.StringVar(&o.group, "group", "", "group to store into")
	f.StringVar(&o.ext, "ext", "", "file extension (default: FILE's)")
	f.StringArrayVar(&o.meta, "meta", nil, "metadata key=value (repeatable)")
	f.IntVar(&o.chunk, "chunk", apiclient.ChunkSize, "bytes per message (at most 2 MiB); each is committed on its own")
	f.IntVar(&o.retries, "retries", 10, "failed writes retried from the committed offset before giving up")
	f.BoolVar(&o.tls, "tls", false, "gRPC over TLS")
	f.BoolVar(&o.insecure, "insecure", false, "skip TLS certificate verification")
	return cmd
}

func init() { rootCmd.AddCommand(newUploadResumableCmd()) }

// uploadResumable runs or resumes the session of name and finishes it.
func uploadResumable(ctx context.Context, o resumableOptions, name string, log io.Writer) (string, error) {
	f, size, err := openRegular(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	creds := insecure.NewCredentials()
	if o.tls {
		creds = credentials.NewTLS(&tls.Config{InsecureSkipVerify: o.insecure})
	}
	conn, err := grpc.NewClient(o.grpcAddr, append(apiclient.DialOptions(), grpc.WithTransportCredentials(creds))...)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	fs := fastdfsv1.NewFileServiceClient(conn)
	if o.key != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+o.key)
	}
	token, off, err := openSession(ctx, fs, o, f, size, fi.ModTime().UnixNano(), log)
	if err != nil {
		return "", err
	}
	if off, err = writeFrom(ctx, fs, o, token, f, off, size, log); err != nil {
		return "", fmt.Errorf("%s: %d of %d bytes committed; run again to resume: %w", name, off, size, err)
	}
	fin, err := fs.FinishUploadSession(ctx, &fastdfsv1.FinishUploadSessionRequest{Token: token})
	if err != nil {
		return "", fmt.Errorf("finish: %w", err)
	}
	os.Remove(o.state)
	return fin.GetFileId(), nil
}

// openSession resumes the session of the state file when it is for this
// version of the file and still open, or starts a new one.
func openSession(ctx context.Context, fs fastdfsv1.FileServiceClient, o resumableOptions, f *os.File, size, mtime int64, log io.Writer) (string, int64, error) {
	var st resumeState
	if b, err := os.ReadFile(o.state); err == nil && json.Unmarshal(b, &st) == nil && st.Size == size && st.MTime == mtime {
		resp, err := fs.GetUploadSession(ctx, &fastdfsv1.GetUploadSessionRequest{Token: st.Token})
		if err == nil {
			off := resp.GetSession().GetCommittedOffset()
			fmt.Fprintf(log, "resuming at byte %d of %d\n", off, size)
			return st.Token, off, nil
		}
		if status.Code(err) != codes.NotFound {
			return "", 0, fmt.Errorf("resume: %w", err)
		}
		fmt.Fprintf(log, "the previous session is gone (%v): starting over\n", status.Convert(err).Message())
	}
	meta, err := parseMeta(o.meta)
	if err != nil {
		return "", 0, err
	}
	crc := crc32.NewIEEE()
	if _, err := io.Copy(crc, io.NewSectionReader(f, 0, size)); err != nil {
		return "", 0, err
	}
	sum := crc.Sum32()
	ext := o.ext
	if ext == "" {
		ext = fileExt(f.Name())
	}
	resp, err := fs.CreateUploadSession(ctx, &fastdfsv1.CreateUploadSessionRequest{
		Group: o.group, Ext: ext, Metadata: meta, Size: &size, Crc32: &sum,
	})
	if err != nil {
		return "", 0, fmt.Errorf("create upload session: %w", err)
	}
	st = resumeState{Token: resp.GetSession().GetToken(), Size: size, MTime: mtime}
	b, _ := json.Marshal(st)
	if err := os.WriteFile(o.state, b, 0o600); err != nil {
		return "", 0, fmt.Errorf("state file: %w", err)
	}
	return st.Token, 0, nil
}

// writeFrom writes f from off to size, asking for the committed offset and
// going on from there after each failure, at most o.retries times in a
// row.
func writeFrom(ctx context.Context, fs fastdfsv1.FileServiceClient, o resumableOptions, token string, f *os.File, off, size int64, log io.Writer) (int64, error) {
	bo := backoff.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
	failures := 0
	for off < size {
		n, err := writeSessionOnce(ctx, fs, token, io.NewSectionReader(f, off, size-off), off, o.chunk)
		if err == nil {
			off = n
			continue
		}
		if ctx.Err() != nil || !retryable(err) || failures >= o.retries {
			return off, err
		}
		failures++
		fmt.Fprintf(log, "write failed (%v); asking for the committed offset\n", status.Convert(err).Message())
		if !backoff.Sleep(ctx, bo.Next()) {
			return off, ctx.Err()
		}
		resp, gerr := fs.GetUploadSession(ctx, &fastdfsv1.GetUploadSessionRequest{Token: token})
		if gerr != nil {
			if !retryable(gerr) {
				return off, gerr
			}
			continue
		}
		off = resp.GetSession().GetCommittedOffset()
		fmt.Fprintf(log, "resuming at byte %d of %d\n", off, size)
	}
	return off, nil
}

// retryable reports whether a write that failed with err may succeed from
// the committed offset.
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.Internal, codes.Unknown, codes.ResourceExhausted:
		return true
	case codes.FailedPrecondition:
		return fileops.Reason(err) == fileops.ReasonOffsetMismatch
	}
	return false
}

// writeSessionOnce streams r from off in chunks of chunk bytes; it returns
// the committed offset the gateway answers.
func writeSessionOnce(ctx context.Context, fs fastdfsv1.FileServiceClient, token string, r io.Reader, off int64, chunk int) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := fs.WriteUploadSession(ctx)
	if err != nil {
		return 0, err
	}
	send := func(m *fastdfsv1.WriteUploadSessionRequest) error {
		if err := st.Send(m); err != nil {
			_, err = st.CloseAndRecv() // the server ended the call: its status says why
			return err
		}
		return nil
	}
	if err := send(&fastdfsv1.WriteUploadSessionRequest{Data: &fastdfsv1.WriteUploadSessionRequest_Spec{
		Spec: &fastdfsv1.WriteUploadSpec{Token: token, Offset: off}}}); err != nil {
		return 0, err
	}
	for {
		// A fresh buffer per message: gRPC may hold a sent message.
		buf := make([]byte, chunk)
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if err := send(&fastdfsv1.WriteUploadSessionRequest{Data: &fastdfsv1.WriteUploadSessionRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				return 0, err
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return 0, rerr
		}
	}
	resp, err := st.CloseAndRecv()
	return resp.GetCommittedOffset(), err
}
