package gateway

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
)

// The benchmarks compare 5 KB downloads natively (the client engine),
// through gRPC and through REST, with 16 concurrent clients on one
// in-process cluster and gateway:
//
//	go test ./tests/gateway -run - -bench . -benchtime 5000x
//
// `fdfs bench-api` against `fdfs dev` measures the same over processes.
const benchParallelism = 16

// parallel runs op b.N times from benchParallelism goroutines and reports
// ops/s.
func parallel(b *testing.B, op func(i int) error) {
	var n atomic.Int64
	b.SetParallelism((benchParallelism + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(int(n.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func benchEnv(b *testing.B) (*env, []string) {
	e := startEnv(b, nil)
	content := bytes.Repeat([]byte("x"), 5<<10)
	ids := make([]string, 64)
	for i := range ids {
		id, err := e.c.Client.Upload(context.Background(), bytes.NewReader(content), int64(len(content)), client.UploadOptions{Ext: "bin"})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = id
	}
	return e, ids
}

func BenchmarkDownload5KB(b *testing.B) {
	e, ids := benchEnv(b)
	b.Run("native", func(b *testing.B) {
		parallel(b, func(i int) error {
			_, err := e.c.Client.Download(context.Background(), ids[i%len(ids)], 0, 0, io.Discard)
			return err
		})
	})
	files := e.files(b)
	b.Run("grpc", func(b *testing.B) {
		ctx := withKey(context.Background(), roKey)
		parallel(b, func(i int) error {
			_, err := grpcDownload(ctx, files, ids[i%len(ids)])
			return err
		})
	})
	b.Run("rest", func(b *testing.B) {
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchParallelism}}
		parallel(b, func(i int) error {
			req, _ := http.NewRequest("GET", e.url("/v1/files/"+ids[i%len(ids)]+":download"), nil)
			req.Header.Set("Authorization", "Bearer "+roKey)
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			return resp.Body.Close()
		})
	})
}

// BenchmarkDownloadLarge reads one 256 MiB file natively, through gRPC and
// through REST, one transfer at a time; it reports MB/s.
func BenchmarkDownloadLarge(b *testing.B) {
	const size = 256 << 20
	e := startEnv(b, nil)
	id, err := e.c.Client.Upload(context.Background(), newGenReader(1, size), size, client.UploadOptions{Ext: "bin"})
	if err != nil {
		b.Fatal(err)
	}
	files := e.files(b)
	hc := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for _, tc := range []struct {
		name string
		get  func() (int64, error)
	}{
		{"native", func() (int64, error) { return e.c.Client.Download(context.Background(), id, 0, 0, io.Discard) }},
		{"grpc", func() (int64, error) {
			st, err := files.DownloadFile(withKey(context.Background(), roKey), &fastdfsv1.DownloadFileRequest{FileId: id})
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
		}},
		{"rest", func() (int64, error) {
			req, _ := http.NewRequest("GET", e.url("/v1/files/"+id+":download"), nil)
			req.Header.Set("Authorization", "Bearer "+roKey)
			resp, err := hc.Do(req)
			if err != nil {
				return 0, err
			}
			defer resp.Body.Close()
			return io.Copy(io.Discard, resp.Body)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				if n, err := tc.get(); err != nil || n != size {
					b.Fatalf("%d bytes, %v", n, err)
				}
			}
		})
	}
}
