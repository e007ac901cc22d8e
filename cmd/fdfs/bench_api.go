package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/fdfsgo/fdfs/apiclient"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/server/grpcapi"
)

// apiBenchOptions are the options of bench-api beyond those of bench.
type apiBenchOptions struct {
	benchOptions
	grpcAddr string
	restURL  string
	key      string
	conns    int
	tls      bool
	insecure bool
	// stubs moves gRPC content with the generated stubs' Send and Recv
	// instead of apiclient's Upload and Download.
	stubs bool
}

func newBenchAPICmd() *cobra.Command {
	var o apiBenchOptions
	var size string
	cmd := &cobra.Command{
		Use:   "bench-api",
		Short: "Benchmark the gRPC and/or REST API of a gateway: ops/s, MB/s and latency percentiles",
		Long: `bench-api is bench through the gateway: --count operations with --concurrency
workers, over gRPC (--grpc host:port; FileService.UploadFile/DownloadFile
through the apiclient package, or with --stubs through the generated stubs
alone, in 1 MiB chunks) and/or REST (--rest URL; raw POST /v1/files and GET
/v1/files/{id}:download). With both, gRPC runs first. --op download first
uploads a set of files (not measured). Compare with "fdfs bench" on the
same cluster for the native figures:

  fdfs bench-api --grpc 127.0.0.2:9090 --rest http://127.0.0.2:8080 --op upload --size 5KB --count 20000
  fdfs bench     --config data/client.conf --op upload --size 5KB --count 20000`,
		Args: cobra.NoArgs,
	}
	f := cmd.Flags()
	f.StringVar(&o.grpcAddr, "grpc", "", "gateway gRPC address host:port")
	f.StringVar(&o.restURL, "rest", "", "gateway REST base URL, e.g. http://127.0.0.2:8080")
	f.StringVar(&o.key, "key", os.Getenv("FDFS_API_KEY"), "API key (default $FDFS_API_KEY)")
	f.IntVar(&o.concurrency, "concurrency", 16, "parallel workers")
	f.IntVar(&o.conns, "conns", 4, "gRPC connections shared by the workers")
	f.StringVar(&size, "size", "5KB", "file size (B, KB/KiB, MB/MiB, GB/GiB; 1K = 1024)")
	f.IntVar(&o.count, "count", 1000, "number of operations")
	f.StringVar(&o.op, "op", "upload", "upload or download")
	f.BoolVar(&o.keep, "keep", false, "keep the files created")
	f.DurationVar(&o.settle, "settle", 0, "pause after preparing the files to download, before the clock starts (lets their replication finish)")
	f.BoolVar(&o.tls, "tls", false, "gRPC over TLS")
	addCPUFlag(cmd, &o.benchOptions)
	f.BoolVar(&o.stubs, "stubs", false, "gRPC content through the generated stubs' Send/Recv (a copy per chunk each way) instead of the apiclient package")
	f.BoolVar(&o.insecure, "insecure", false, "skip TLS certificate verification (gRPC and https URLs)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var err error
		if o.size, err = parseSize(size); err != nil {
			return err
		}
		if o.concurrency < 1 || o.count < 1 || o.conns < 1 {
			return errors.New("--concurrency, --conns and --count must be at least 1")
		}
		if o.op != "upload" && o.op != "download" {
			return fmt.Errorf("--op %q: want upload or download", o.op)
		}
		if o.grpcAddr == "" && o.restURL == "" {
			return errors.New("give --grpc and/or --rest")
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		var targets []benchTarget
		if o.grpcAddr != "" {
			t, err := newGRPCTarget(o)
			if err != nil {
				return err
			}
			targets = append(targets, t)
		}
		if o.restURL != "" {
			targets = append(targets, newRESTTarget(o))
		}
		var errs []error
		for _, t := range targets {
			errs = append(errs, runBench(ctx, cmd.OutOrStdout(), t, o.benchOptions))
			t.close()
		}
		return errors.Join(errs...)
	}
	return cmd
}

// grpcTarget runs the operations over gRPC, worker i on connection
// i % --conns.
type grpcTarget struct {
	conns []*grpc.ClientConn
	key   string
	stubs bool
	bufs  sync.Pool // chunk buffers of the --stubs uploads
}

func newGRPCTarget(o apiBenchOptions) (*grpcTarget, error) {
	creds := insecure.NewCredentials()
	if o.tls {
		creds = credentials.NewTLS(&tls.Config{InsecureSkipVerify: o.insecure})
	}
	t := &grpcTarget{key: o.key, stubs: o.stubs, bufs: sync.Pool{New: func() any { b := make([]byte, apiclient.ChunkSize); return &b }}}
	for range o.conns {
		opts := append(apiclient.DialOptions(), grpc.WithTransportCredentials(creds),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(grpcapi.MaxChunkSize+64<<10)))
		c, err := grpc.NewClient(o.grpcAddr, opts...)
		if err != nil {
			t.close()
			return nil, err
		}
		t.conns = append(t.conns, c)
	}
	return t, nil
}

func (t *grpcTarget) name() string {
	if t.stubs {
		return "grpc (stubs)"
	}
	return "grpc"
}

func (t *grpcTarget) close() {
	for _, c := range t.conns {
		c.Close()
	}
}

func (t *grpcTarget) client(w int) fastdfsv1.FileServiceClient {
	return fastdfsv1.NewFileServiceClient(t.conns[w%len(t.conns)])
}

func (t *grpcTarget) ctx(ctx context.Context) context.Context {
	if t.key == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+t.key)
}

func (t *grpcTarget) upload(ctx context.Context, w int, size int64) (string, error) {
	spec := &fastdfsv1.UploadSpec{Size: size, Ext: "bin"}
	if !t.stubs {
		resp, err := apiclient.Upload(t.ctx(ctx), t.client(w), spec, &patternReader{n: size})
		return resp.GetFileId(), err
	}
	st, err := t.client(w).UploadFile(t.ctx(ctx))
	if err != nil {
		return "", err
	}
	if err := st.Send(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Spec{Spec: spec}}); err != nil {
		_, err = st.CloseAndRecv()
		return "", err
	}
	bp := t.bufs.Get().(*[]byte)
	defer t.bufs.Put(bp)
	src := &patternReader{n: size}
	chunk := &fastdfsv1.UploadFileRequest_Chunk{}
	msg := &fastdfsv1.UploadFileRequest{Data: chunk}
	for {
		n, rerr := io.ReadFull(src, *bp)
		if n > 0 {
			chunk.Chunk = (*bp)[:n]
			if err := st.Send(msg); err != nil {
				break // the server ended the call; CloseAndRecv says why
			}
		}
		if rerr != nil {
			break
		}
	}
	resp, err := st.CloseAndRecv()
	if err != nil {
		return "", err
	}
	return resp.GetFileId(), nil
}

func (t *grpcTarget) download(ctx context.Context, w int, id string) (int64, error) {
	req := &fastdfsv1.DownloadFileRequest{FileId: id}
	if !t.stubs {
		return apiclient.Download(t.ctx(ctx), t.client(w), req, io.Discard)
	}
	st, err := t.client(w).DownloadFile(t.ctx(ctx), req)
	if err != nil {
		return 0, err
	}
	var n int64
	m := &fastdfsv1.DownloadFileResponse{}
	for {
		if err := st.RecvMsg(m); err == io.EOF {
			return n, nil
		} else if err != nil {
			return n, err
		}
		n += int64(len(m.GetChunk()))
	}
}

func (t *grpcTarget) remove(ctx context.Context, id string) error {
	_, err := t.client(0).DeleteFile(t.ctx(ctx), &fastdfsv1.DeleteFileRequest{FileId: id})
	return err
}

// restTarget runs the operations over the REST raw routes.
type restTarget struct {
	base string
	key  string
	hc   *http.Client
}

func newRESTTarget(o apiBenchOptions) *restTarget {
	tr := &http.Transport{
		MaxIdleConnsPerHost: o.concurrency,
		// 256 KiB socket buffers instead of 4 KiB: a big upload or
		// download in few syscalls, as with the other two protocols.
		WriteBufferSize:    256 << 10,
		ReadBufferSize:     256 << 10,
		DisableCompression: true,
		TLSClientConfig:    &tls.Config{InsecureSkipVerify: o.insecure},
	}
	return &restTarget{base: strings.TrimSuffix(o.restURL, "/"), key: o.key, hc: &http.Client{Transport: tr}}
}

func (t *restTarget) name() string { return "rest" }

func (t *restTarget) close() { t.hc.CloseIdleConnections() }

func (t *restTarget) do(req *http.Request, want int) (*http.Response, error) {
	if t.key != "" {
		req.Header.Set("Authorization", "Bearer "+t.key)
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, strings.TrimSpace(string(b)))
	}
	return resp, nil
}

func (t *restTarget) upload(ctx context.Context, _ int, size int64) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", t.base+"/v1/files?ext=bin", &patternReader{n: size})
	if err != nil {
		return "", err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := t.do(req, http.StatusCreated)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var r struct {
		FileID string `json:"fileId"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&r); err != nil {
		return "", err
	}
	return r.FileID, nil
}

func (t *restTarget) download(ctx context.Context, _ int, id string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", t.base+"/v1/files/"+id+":download", nil)
	if err != nil {
		return 0, err
	}
	resp, err := t.do(req, http.StatusOK)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return io.Copy(discard{}, resp.Body)
}

func (t *restTarget) remove(ctx context.Context, id string) error {
	req, err := http.NewRequestWithContext(ctx, "DELETE", t.base+"/v1/files/"+id, nil)
	if err != nil {
		return err
	}
	resp, err := t.do(req, http.StatusOK)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func init() { rootCmd.AddCommand(newBenchAPICmd()) }
