package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// The examples need a running cluster (`fdfs dev` starts one), so they
// have no Output comment: go test compiles them but does not run them.

// A client from an upstream client.conf, as the C tools use: trackers,
// timeouts and pooling come from the file.
func ExampleFromConf() {
	cc, err := conf.LoadClient("/etc/fdfs/client.conf")
	if err != nil {
		log.Fatal(err)
	}
	cl, err := client.FromConf(cc)
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	fmt.Println("trackers:", cl.Trackers())
}

// A client configured in code. A Client is safe for concurrent use; keep
// one per process so its connection pool is shared.
func ExampleNew() {
	cl, err := client.New(client.Config{
		Trackers:       []string{"127.0.0.2:22122"},
		ConnectTimeout: 5 * time.Second,
		NetworkTimeout: 30 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
}

// Uploading streams the reader to the storage the tracker picks; the size
// goes first on the wire, so it must be known. An *os.File is sent with
// sendfile.
func ExampleClient_Upload() {
	cl, err := client.New(client.Config{Trackers: []string{"127.0.0.2:22122"}})
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()

	f, err := os.Open("photo.jpg")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, err := cl.Upload(ctx, f, st.Size(), client.UploadOptions{
		Ext:  "jpg",
		Meta: map[string]string{"width": "1024", "height": "768"},
	})
	if errors.Is(err, client.ErrNoStorage) {
		log.Fatal("no storage can take the file yet; try again later: ", err)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("file ID:", id) // e.g. group1/M00/00/00/wKgBAmb....jpg
}

// Downloading streams the file to a writer: the whole file (length 0) or
// a range of it.
func ExampleClient_Download() {
	cl, err := client.New(client.Config{Trackers: []string{"127.0.0.2:22122"}})
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	const id = "group1/M00/00/00/wKgBAmbIuTuAAAAAAAAAHOXr0oo143.txt"

	out, err := os.Create("copy.txt")
	if err != nil {
		log.Fatal(err)
	}
	defer out.Close()
	n, err := cl.Download(ctx, id, 0, 0, out)
	if errors.Is(err, protocol.ErrNotFound) {
		log.Fatal("no such file: ", id)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "bytes")

	// The first 100 bytes only.
	var head strings.Builder
	if _, err := cl.Download(ctx, id, 0, 100, &head); err != nil {
		log.Fatal(err)
	}
}

// Deleting removes the file and its metadata on the storage that holds the
// original; the other storages of the group follow through sync.
func ExampleClient_Delete() {
	cl, err := client.New(client.Config{Trackers: []string{"127.0.0.2:22122"}})
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	err = cl.Delete(context.Background(), "group1/M00/00/00/wKgBAmbIuTuAAAAAAAAAHOXr0oo143.txt")
	if err != nil && !errors.Is(err, protocol.ErrNotFound) {
		log.Fatal(err)
	}
}

// Metadata is a set of key/value pairs per file: SetMetadata overwrites it
// or merges into it, GetMetadata reads it.
func ExampleClient_SetMetadata() {
	cl, err := client.New(client.Config{Trackers: []string{"127.0.0.2:22122"}})
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	const id = "group1/M00/00/00/wKgBAmbIuTuAAAAAAAAAHOXr0oo143.jpg"

	// Merge changes the given keys and keeps the others.
	if err := cl.SetMetadata(ctx, id, map[string]string{"author": "ann"}, protocol.MetaMerge); err != nil {
		log.Fatal(err)
	}
	meta, err := cl.GetMetadata(ctx, id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(meta["author"], meta["width"])
}

// File info comes from the storage and from the file ID itself, which
// encodes the source storage, the creation time and the size.
func ExampleClient_GetFileInfo() {
	cl, err := client.New(client.Config{Trackers: []string{"127.0.0.2:22122"}})
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	fi, err := cl.GetFileInfo(context.Background(), "group1/M00/00/00/wKgBAmbIuTuAAAAAAAAAHOXr0oo143.jpg")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(fi.Size, fi.SourceIP, fi.Type())
}
