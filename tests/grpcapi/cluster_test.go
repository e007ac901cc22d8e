package grpcapi

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/fdfsgo/fdfs/fdfsengine/httptoken"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/server/grpcapi"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

func TestClusterService(t *testing.T) {
	t.Parallel()
	e := start(t, cluster.Options{Storages: 2, Groups: []string{"group1", "group2"}}, nil)
	byGroup := map[string][]*cluster.Storage{}
	for _, s := range e.c.Storages {
		byGroup[s.Group] = append(byGroup[s.Group], s)
	}
	ctx := opCtx(t)
	content := []byte("cluster service test")
	id := e.upload(t, &fastdfsv1.UploadSpec{Group: "group2"}, content)

	t.Run("list groups", func(t *testing.T) {
		resp, err := e.cluster.ListGroups(ctx, &fastdfsv1.ListGroupsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, g := range resp.GetGroups() {
			names = append(names, g.GetName())
			if g.GetStorageCount() != 2 || g.GetWritableCount() != 2 || g.GetTotalMb() <= 0 || g.GetStorePathCount() != 1 {
				t.Errorf("group %v", g)
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"group1", "group2"}) {
			t.Fatalf("groups %v", names)
		}
	})

	t.Run("list and get storages", func(t *testing.T) {
		resp, err := e.cluster.ListStorages(ctx, &fastdfsv1.ListStoragesRequest{Group: "group2"})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetStorages()) != 2 {
			t.Fatalf("storages %v", resp.GetStorages())
		}
		for _, s := range resp.GetStorages() {
			want := byGroup["group2"][0]
			if s.GetIp() != want.IP {
				want = byGroup["group2"][1]
			}
			if s.GetIp() != want.IP || s.GetStorageId() != want.ID || s.GetPort() != int64(want.Port) ||
				s.GetStatus() != fastdfsv1.StorageStatus_STORAGE_STATUS_ACTIVE || s.GetGroup() != "group2" ||
				s.GetTotalMb() <= 0 || s.GetJoinTime() == nil || s.GetSync() == nil || s.GetCounters() == nil {
				t.Errorf("storage %v, want %s:%d", s, want.IP, want.Port)
			}
			got, err := e.cluster.GetStorage(ctx, &fastdfsv1.GetStorageRequest{Group: "group2", StorageId: s.GetStorageId()})
			if err != nil || got.GetStorage().GetIp() != s.GetIp() {
				t.Errorf("get storage %s: %v, %v", s.GetStorageId(), got, err)
			}
		}
	})

	t.Run("locate", func(t *testing.T) {
		addrs := func(op fastdfsv1.StorageOperation, fileID, group string) []string {
			t.Helper()
			resp, err := e.cluster.LocateStorages(ctx, &fastdfsv1.LocateStoragesRequest{Operation: op, FileId: fileID, Group: group})
			if err != nil {
				t.Fatalf("locate %v: %v", op, err)
			}
			var out []string
			for _, s := range resp.GetStorages() {
				if s.GetGroup() != "group2" && op != fastdfsv1.StorageOperation_STORAGE_OPERATION_UPLOAD {
					t.Errorf("storage %v is not in group2", s)
				}
				out = append(out, s.GetIp())
			}
			return out
		}
		if got := addrs(fastdfsv1.StorageOperation_STORAGE_OPERATION_UPLOAD, "", "group1"); len(got) != 2 {
			t.Errorf("upload storages of group1: %v", got)
		}
		if got := addrs(fastdfsv1.StorageOperation_STORAGE_OPERATION_DOWNLOAD, id, ""); len(got) == 0 {
			t.Errorf("download storages: none")
		}
		fi, err := e.files.GetFileInfo(ctx, &fastdfsv1.GetFileInfoRequest{FileId: id})
		if err != nil {
			t.Fatal(err)
		}
		if got := addrs(fastdfsv1.StorageOperation_STORAGE_OPERATION_UPDATE, id, ""); len(got) != 1 || got[0] != fi.GetFile().GetSourceIp() {
			t.Errorf("update storage %v, want the source %s", got, fi.GetFile().GetSourceIp())
		}
	})

	t.Run("stats", func(t *testing.T) {
		resp, err := e.cluster.GetClusterStats(ctx, &fastdfsv1.GetClusterStatsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetGroupCount() != 2 || resp.GetStorageCount() != 4 || resp.GetActiveStorageCount() != 4 || resp.GetTotalMb() <= 0 {
			t.Fatalf("stats %v", resp)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		tests := []struct {
			name string
			call func() error
			code codes.Code
		}{
			{"list storages of a bad group", func() error {
				_, err := e.cluster.ListStorages(ctx, &fastdfsv1.ListStoragesRequest{Group: "no/such"})
				return err
			}, codes.InvalidArgument},
			{"list storages of an unknown group", func() error {
				_, err := e.cluster.ListStorages(ctx, &fastdfsv1.ListStoragesRequest{Group: "group9"})
				return err
			}, codes.NotFound},
			{"get an unknown storage", func() error {
				_, err := e.cluster.GetStorage(ctx, &fastdfsv1.GetStorageRequest{Group: "group1", StorageId: "127.255.255.254"})
				return err
			}, codes.NotFound},
			{"get a bad storage id", func() error {
				_, err := e.cluster.GetStorage(ctx, &fastdfsv1.GetStorageRequest{Group: "group1", StorageId: "../x"})
				return err
			}, codes.InvalidArgument},
			{"locate without operation", func() error {
				_, err := e.cluster.LocateStorages(ctx, &fastdfsv1.LocateStoragesRequest{FileId: id})
				return err
			}, codes.InvalidArgument},
			{"locate download of a bad id", func() error {
				_, err := e.cluster.LocateStorages(ctx, &fastdfsv1.LocateStoragesRequest{Operation: fastdfsv1.StorageOperation_STORAGE_OPERATION_DOWNLOAD, FileId: "x"})
				return err
			}, codes.InvalidArgument},
			{"delete an active storage", func() error {
				_, err := e.cluster.DeleteStorage(ctx, &fastdfsv1.DeleteStorageRequest{Group: "group1", StorageId: byGroup["group1"][1].ID})
				return err
			}, codes.FailedPrecondition},
			{"delete an unknown storage", func() error {
				_, err := e.cluster.DeleteStorage(ctx, &fastdfsv1.DeleteStorageRequest{Group: "group1", StorageId: "127.255.255.254"})
				return err
			}, codes.NotFound},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				info := wantStatus(t, tc.call(), tc.code, "", "")
				if info == nil || info.GetDomain() != grpcapi.ErrorDomain || info.GetReason() == "" {
					t.Fatalf("ErrorInfo %v", info)
				}
			})
		}
	})

	t.Run("delete a stopped storage", func(t *testing.T) {
		victim := byGroup["group1"][1]
		e.c.StopStorage(victim.Index)
		e.c.WaitStatus(victim.Index, protocol.StatusOffline)
		got, err := e.cluster.GetStorage(ctx, &fastdfsv1.GetStorageRequest{Group: "group1", StorageId: victim.ID})
		if err != nil || got.GetStorage().GetStatus() != fastdfsv1.StorageStatus_STORAGE_STATUS_OFFLINE {
			t.Fatalf("stopped storage: %v, %v", got, err)
		}
		if _, err := e.cluster.DeleteStorage(ctx, &fastdfsv1.DeleteStorageRequest{Group: "group1", StorageId: victim.ID}); err != nil {
			t.Fatalf("delete an offline storage: %v", err)
		}
		resp, err := e.cluster.ListStorages(ctx, &fastdfsv1.ListStoragesRequest{Group: "group1"})
		if err != nil {
			t.Fatal(err)
		}
		listed := false
		for _, s := range resp.GetStorages() {
			if s.GetStorageId() == victim.ID {
				listed = true
				if s.GetStatus() != fastdfsv1.StorageStatus_STORAGE_STATUS_DELETED {
					t.Fatalf("deleted storage listed as %v", s.GetStatus())
				}
			}
		}
		if !listed {
			t.Fatal("deleted storage not listed (DELETED, as upstream)")
		}
		if _, err := e.cluster.DeleteStorage(ctx, &fastdfsv1.DeleteStorageRequest{Group: "group1", StorageId: victim.ID}); err != nil {
			t.Fatalf("delete it again (idempotent): %v", err)
		}
	})
}

// TestCreateDownloadURL fetches the URL CreateDownloadUrl makes from the
// storage's HTTP server, which checks the anti-steal token.
func TestCreateDownloadURL(t *testing.T) {
	t.Parallel()
	const secret = "FastDFS1234567890"
	e := start(t, cluster.Options{Storages: 1, StorageConf: []string{
		"url_have_group_name = true",
		"http.anti_steal.check_token = true",
		"http.anti_steal.token_ttl = 900",
		"http.anti_steal.secret_key = " + secret,
	}}, func(c *cluster.Cluster, o *grpcapi.Options) {
		o.HTTPPort = c.Storages[0].HTTPPort
		o.TokenSecret = secret
		o.TokenTTL = 900 * time.Second
	})
	content := randomBytes(70000)
	id := e.upload(t, &fastdfsv1.UploadSpec{Ext: "jpg"}, content)

	resp, err := e.files.CreateDownloadUrl(opCtx(t), &fastdfsv1.CreateDownloadUrlRequest{FileId: id})
	if err != nil {
		t.Fatal(err)
	}
	u := resp.GetUrl()
	wantPrefix := "http://" + e.c.Storages[0].HTTPAddr() + "/" + id + "?"
	if !strings.HasPrefix(u, wantPrefix) || !strings.Contains(u, "token=") || resp.GetExpireTime() == nil {
		t.Fatalf("url %q (expires %v), want prefix %q", u, resp.GetExpireTime(), wantPrefix)
	}
	for _, tc := range []struct {
		url    string
		status int
	}{
		{u, http.StatusOK},
		{strings.Split(u, "?")[0], http.StatusForbidden},
	} {
		r, err := http.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if r.StatusCode != tc.status || tc.status == http.StatusOK && !bytes.Equal(body, content) {
			t.Fatalf("GET %s: status %d with %d bytes, want %d", tc.url, r.StatusCode, len(body), tc.status)
		}
	}

	// A fixed base URL, no group in the path, a fixed clock: the exact URL.
	svc := grpcapi.NewFileService(grpcapi.Options{
		Client: e.c.Client, HTTPBaseURL: "https://cdn.example", URLWithoutGroup: true,
		TokenSecret: secret, Now: func() time.Time { return time.Unix(1700000000, 0) },
	})
	got, err := svc.CreateDownloadUrl(opCtx(t), &fastdfsv1.CreateDownloadUrlRequest{FileId: id})
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(id, "group1/")
	want := "https://cdn.example/" + name + "?token=" + httptoken.Make(name, secret, 1700000000) + "&ts=1700000000"
	if got.GetUrl() != want || got.GetExpireTime() != nil {
		t.Fatalf("url %q expiring %v, want %q without expiry (no TTL set)", got.GetUrl(), got.GetExpireTime(), want)
	}
}
