package conf

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no text makes a parser panic or hang, and every refusal is an
// *Error, which names the file, the line and the key. Each of the stock
// files is a seed, and a file the text may #include sits beside it.
func FuzzParse(f *testing.F) {
	stock, err := filepath.Glob("testdata/stock/*.conf")
	if err != nil || len(stock) == 0 {
		f.Fatalf("no stock files: %v", err)
	}
	for _, p := range stock {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("#@set A = 1\n#@for i from 0 to 3 step 1\nk{$i} = ${A}\n#@endfor\n#include inc.conf\n"))
	f.Add([]byte("#@if %{LOCAL_IP} in [127.0.0.1]\nx = 1\n#@else\nx = 2\n#@endif\n#@function REPLACE_VARS\ny = %{x}\n"))
	f.Add([]byte("group_name = group1\nstore_path_count = 2\nstore_path0 = /a\nstore_path1 = /b\n[error-log]\nsync_log_buff_interval = 1\n"))
	f.Add([]byte("100001 group1 127.0.0.1:23000\n100002 group1 [::1]:23001\n"))
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "inc.conf"), []byte("base_path = /tmp\nport = 22122\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parsers := []struct {
			name string
			run  func() (any, error)
		}{
			{"tracker", func() (any, error) { return ParseTracker(data, dir) }},
			{"storage", func() (any, error) { return ParseStorage(data, dir) }},
			{"client", func() (any, error) { return ParseClient(data, dir) }},
			{"mod_fastdfs", func() (any, error) { return ParseModFastDFS(data, dir) }},
			{"storage_ids", func() (any, error) { return ParseStorageIDs(data) }},
		}
		for _, p := range parsers {
			v, err := p.run()
			var ce *Error
			switch {
			case err != nil && !errors.As(err, &ce):
				t.Fatalf("%s: %T %v, want a *conf.Error", p.name, err, err)
			case err == nil && v == nil:
				t.Fatalf("%s: neither a result nor an error", p.name)
			}
		}
	})
}
