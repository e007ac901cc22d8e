package storagenode

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// New refuses what no default can fix with a *conf.Error naming the key,
// and the file and line when the config was loaded from one; it is no
// wire status.
func TestNewConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *conf.Storage)
		key  string
		want string
	}{
		{"group", func(c *conf.Storage) { c.GroupName = "bad-group" }, "group_name", `<config>: group_name: "bad-group" is not a group name (accepted: 1 to 16 letters and digits)`},
		{"base_path", func(c *conf.Storage) { c.BasePath = "" }, "base_path", "<config>: base_path: not set (accepted: an absolute directory)"},
		{"store paths", func(c *conf.Storage) { c.StorePathCount = 2 }, "store_path_count", "<config>: store_path_count: 2 with 1 store paths"},
		{"subdirs", func(c *conf.Storage) { c.SubdirCountPerPath = 300 }, "subdir_count_per_path", "<config>: subdir_count_per_path: 300 > 256 (accepted: 1 to 256)"},
		{"port", func(c *conf.Storage) { c.Port = 70000 }, "port", "<config>: port: 70000 is out of range"},
		{"disabled", func(c *conf.Storage) { c.Disabled = true }, "disabled", "<config>: disabled: true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig(t)
			tc.edit(c)
			_, err := New(c, nil)
			var ce *conf.Error
			if !errors.As(err, &ce) || ce.Key != tc.key || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a config error starting %q", err, tc.want)
			}
			if errors.Is(err, protocol.ErrInvalid) {
				t.Errorf("%v is a wire status", err)
			}
		})
	}
	// Loaded from a file, the error names it and the key's line.
	dir := t.TempDir()
	c, err := conf.ParseStorage([]byte("group_name = group1\nbase_path = "+dir+"\ntracker_server = 10.0.0.1:22122\nport = 23000\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	c.Raw.Path = filepath.Join(dir, "storage.conf")
	c.Port = 70000 // conf refuses it; a caller may still set it
	_, err = New(c, nil)
	if want := c.Raw.Path + ":4: port: 70000 is out of range"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v, want %q...", err, want)
	}
}
