package apiclient_test

import (
	"context"
	"log"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/fdfsgo/fdfs/apiclient"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
)

// Upload a local file through a gateway and download it again into
// another file. The gateway's address and API key are placeholders; use
// grpc.WithTransportCredentials(credentials.NewTLS(...)) for a TLS gateway.
func Example() {
	conn, err := grpc.NewClient("127.0.0.1:9090",
		append(apiclient.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	files := fastdfsv1.NewFileServiceClient(conn)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+os.Getenv("FDFS_API_KEY"))

	src, err := os.Open("photo.jpg")
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		log.Fatal(err)
	}
	stored, err := apiclient.Upload(ctx, files, &fastdfsv1.UploadSpec{Ext: "jpg", Size: fi.Size()}, src)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("stored %s (%d bytes)", stored.GetFileId(), stored.GetSize())

	dst, err := os.Create("copy.jpg")
	if err != nil {
		log.Fatal(err)
	}
	defer dst.Close()
	n, err := apiclient.Download(ctx, files, &fastdfsv1.DownloadFileRequest{FileId: stored.GetFileId()}, dst)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("downloaded %d bytes", n)
}
