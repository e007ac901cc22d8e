// Package tracefile reads the golden byte traces captured from upstream
// FastDFS V6.16.1 (testdata/traces/{ip,id}/*.hex, a copy of the project's
// shared/fastdfs/traces): one request and at most one response per file,
// as exact bytes. Tests of every role use it to check the
// codecs and servers against real traffic.
package tracefile

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Exchange is one captured request and its response (nil for QUIT).
type Exchange struct {
	Path     string // file the exchange was read from
	Mode     string // "ip" or "id"
	Name     string // command name, e.g. UPLOAD_FILE
	Cmd      byte   // command code from the file's title line
	From, To string // request source and destination ip:port
	Request  []byte // header + body
	Response []byte // header + body, nil when the server does not answer
}

var (
	titleRE = regexp.MustCompile(`step=(\S+): (\S+) \(cmd (\d+)\)`)
	dirRE   = regexp.MustCompile(`^# (request|response) (\S+) -> (\S+), (\d+) bytes`)
)

// Load parses one .hex trace file.
func Load(path string) (*Exchange, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ex := &Exchange{Path: path}
	if strings.Contains(filepath.ToSlash(path), "/id/") {
		ex.Mode = "id"
	} else {
		ex.Mode = "ip"
	}
	var cur *[]byte
	var want []int
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			if m := titleRE.FindStringSubmatch(line); m != nil {
				ex.Name = m[2]
				var c int
				fmt.Sscan(m[3], &c)
				ex.Cmd = byte(c)
			}
			if m := dirRE.FindStringSubmatch(line); m != nil {
				var n int
				fmt.Sscan(m[4], &n)
				want = append(want, n)
				if m[1] == "request" {
					ex.From, ex.To = m[2], m[3]
					ex.Request = []byte{}
					cur = &ex.Request
				} else {
					ex.Response = []byte{}
					cur = &ex.Response
				}
			}
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("%s: data before a request/response line", path)
		}
		b, err := hex.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		*cur = append(*cur, b...)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if ex.Request == nil {
		return nil, fmt.Errorf("%s: no request", path)
	}
	got := []int{len(ex.Request)}
	if ex.Response != nil {
		got = append(got, len(ex.Response))
	}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			return nil, fmt.Errorf("%s: byte counts %v, announced %v", path, got, want)
		}
	}
	return ex, nil
}

// Dir locates the traces: $FDFS_TRACES, or the copy kept in this
// package's testdata (fdfsengine/tracefile/testdata/traces, found from the
// module root above the working directory), so the tests need nothing
// outside the repository.
func Dir() (string, error) {
	if d := os.Getenv("FDFS_TRACES"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "fdfsengine", "tracefile", "testdata", "traces"), nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("no go.mod above " + wd + " (set FDFS_TRACES)")
		}
	}
}

// LoadAll loads every trace of both modes, including the per-exchange
// files under */all/, sorted by path.
func LoadAll() ([]*Exchange, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, pat := range []string{"ip/*.hex", "id/*.hex", "ip/all/*.hex", "id/all/*.hex"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, err
		}
		paths = append(paths, m...)
	}
	sort.Strings(paths)
	if len(paths) == 0 {
		return nil, fmt.Errorf("no traces under %s", dir)
	}
	out := make([]*Exchange, 0, len(paths))
	for _, p := range paths {
		ex, err := Load(p)
		if err != nil {
			return nil, err
		}
		out = append(out, ex)
	}
	return out, nil
}

// Named loads <mode>/<name>.hex, e.g. Named("ip", "UPLOAD_FILE").
func Named(mode, name string) (*Exchange, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	return Load(filepath.Join(dir, mode, name+".hex"))
}
