package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/internal/testwait"
)

// TestRESTListFiles: GET /v1/groups/{group}/files pages with tokens and
// takes the filters as query parameters; a read-only key may list; the
// scrub report through ScrubStorage and the metrics.
func TestRESTListFiles(t *testing.T) {
	e := startEnv(t, nil)
	var want []string
	for _, s := range []string{"a", "bb", "ccc"} {
		want = append(want, e.upload(t, "?ext=txt", []byte(s)))
	}
	e.upload(t, "?ext=png", []byte("png"))
	slices.Sort(want)
	type page struct {
		Files []struct {
			FileID string `json:"fileId"`
			Size   string `json:"size"`
		} `json:"files"`
		NextPageToken string `json:"nextPageToken"`
	}
	var got []string
	token := ""
	for range 10 {
		resp, b := do(t, "GET", e.url("/v1/groups/group1/files?pageSize=2&ext=txt&pageToken="+url.QueryEscape(token)), roKey, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("list: %s %s", resp.Status, b)
		}
		var p page
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		for _, f := range p.Files {
			got = append(got, f.FileID)
		}
		if token = p.NextPageToken; token == "" {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	resp, b := do(t, "GET", e.url("/v1/groups/group1/files?pageToken=bogus"), roKey, nil, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "page_token") {
		t.Fatalf("bogus token: %s %s", resp.Status, b)
	}

	// The scrubber of the storage, through ClusterService (a read-write
	// key: it starts work on the storage).
	scrub := e.url("/v1/groups/group1/storages/" + e.c.Storages[0].ID + ":scrub")
	if resp, _ := do(t, "POST", scrub, roKey, strings.NewReader(`{"run":true}`), nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("scrub with a read-only key: %s", resp.Status)
	}
	if resp, b := do(t, "POST", scrub, rwKey, strings.NewReader(`{"run":true}`), nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("scrub: %s %s", resp.Status, b)
	}
	testwait.For(t, time.Minute, "scrub pass", func() error {
		resp, b := do(t, "POST", scrub, rwKey, strings.NewReader(`{}`), nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"passes":"1"`) || !strings.Contains(string(b), `"files":"4"`) {
			return fmt.Errorf("scrub report %s %s", resp.Status, b)
		}
		return nil
	})
	_, metrics := do(t, "GET", e.url("/metrics"), "", nil, nil)
	for _, want := range []string{
		`fdfs_storage_scrub_passes_total{group="group1",storage="` + e.c.Storages[0].ID + `"} 1`,
		`fdfs_storage_scrub_files_checked_total{group="group1",storage="` + e.c.Storages[0].ID + `"} 4`,
		`fdfs_storage_scrub_corrupt_total{group="group1",storage="` + e.c.Storages[0].ID + `"} 0`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
