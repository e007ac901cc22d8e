package gateway

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/fdfsgo/fdfs/openapi"
)

// The committed document is complete: the gateway serves it byte for byte.
func TestCommittedOpenAPIIsServed(t *testing.T) {
	out, err := CompleteOpenAPI(openapi.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, openapi.JSON) {
		t.Error("CompleteOpenAPI changes openapi/fastdfs.swagger.json: run scripts/gen.sh")
	}
	var doc struct {
		Info        map[string]any            `json:"info"`
		Definitions map[string]any            `json:"definitions"`
		Paths       map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Info["title"] != "FastDFS API" || doc.Info["version"] != "v1" {
		t.Errorf("info %v", doc.Info)
	}
	if doc.Definitions["v1GetFileInfoResponse"] != nil || doc.Definitions["rpcStatus"] == nil {
		t.Error("definitions not pruned to the used ones")
	}
	var v3 struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openapi.JSON3, &v3); err != nil || v3.OpenAPI[:2] != "3." || len(v3.Paths) != len(doc.Paths) {
		t.Errorf("OpenAPI 3 document: %v, version %q, %d paths (want %d)", err, v3.OpenAPI, len(v3.Paths), len(doc.Paths))
	}
}
