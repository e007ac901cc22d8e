package conf

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// Bounds on what one configuration may pull in: upstream confs are a few
// hundred lines, so these only stop runaway or cyclic includes.
const (
	maxIncludeDepth = 8
	maxIncludes     = 64
	maxConfSize     = 4 << 20 // bytes per file
)

// Entry is one "key = value" line.
type Entry struct {
	Key, Value string
	Source     string // file the line came from ("" for ParseFile's own data)
	Line       int    // 1-based line number in Source
}

// File is a parsed configuration: every key/value line in order, includes
// expanded in place. Keys inside a "[section]" are stored as "section.key".
type File struct {
	// Path is the file LoadFile read ("" when parsed from bytes).
	Path    string
	Entries []Entry
	index   map[string][]int
	dir     string // base for relative paths (ParseFile's dir)
}

// LoadFile reads and parses the configuration at path; includes are
// resolved against path's directory.
func LoadFile(path string) (*File, error) {
	data, err := readConf(path)
	if err != nil {
		return nil, err
	}
	f := &File{Path: path, index: map[string][]int{}}
	p := parser{f: f}
	if err := p.parse(data, path, filepath.Dir(path), 0); err != nil {
		return nil, err
	}
	return f, nil
}

// ParseFile parses configuration text; "#include" targets are resolved
// against dir.
func ParseFile(data []byte, dir string) (*File, error) {
	f := &File{index: map[string][]int{}, dir: dir}
	p := parser{f: f}
	if err := p.parse(data, "", dir, 0); err != nil {
		return nil, err
	}
	return f, nil
}

func readConf(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("conf: %w", err)
	}
	if st.Size() > maxConfSize {
		return nil, fmt.Errorf("conf: %s: larger than %d bytes: %w", path, maxConfSize, protocol.ErrInvalid)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("conf: %w", err)
	}
	return data, nil
}

type parser struct {
	f        *File
	includes int
}

func (p *parser) parse(data []byte, source, dir string, depth int) error {
	section := ""
	for i, raw := range bytes.Split(data, []byte("\n")) {
		lineNo := i + 1
		line := strings.TrimSpace(string(raw))
		if line == "" {
			continue
		}
		if line[0] == '#' {
			rest, ok := strings.CutPrefix(line, "#include")
			if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
				continue // plain comment (or "#@" directive, not supported)
			}
			if err := p.include(strings.TrimSpace(rest), source, lineNo, dir, depth); err != nil {
				return err
			}
			continue
		}
		if line[0] == '[' && line[len(line)-1] == ']' {
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue // upstream ignores lines without '='
		}
		key = strings.TrimSpace(key)
		if key == "" {
			continue
		}
		if section != "" {
			key = section + "." + key
		}
		p.f.index[key] = append(p.f.index[key], len(p.f.Entries))
		p.f.Entries = append(p.f.Entries, Entry{Key: key, Value: strings.TrimSpace(value), Source: source, Line: lineNo})
	}
	return nil
}

func (p *parser) include(name, source string, line int, dir string, depth int) error {
	where := fmt.Sprintf("%s:%d", displayName(source), line)
	if name == "" {
		return fmt.Errorf("conf: %s: #include without a file name: %w", where, protocol.ErrInvalid)
	}
	if depth+1 > maxIncludeDepth {
		return fmt.Errorf("conf: %s: includes nested deeper than %d: %w", where, maxIncludeDepth, protocol.ErrInvalid)
	}
	p.includes++
	if p.includes > maxIncludes {
		return fmt.Errorf("conf: %s: more than %d includes: %w", where, maxIncludes, protocol.ErrInvalid)
	}
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	data, err := readConf(path)
	if err != nil {
		return fmt.Errorf("conf: %s: #include %s: %w", where, name, err)
	}
	return p.parse(data, path, filepath.Dir(path), depth+1)
}

func displayName(source string) string {
	if source == "" {
		return "<config>"
	}
	return source
}

// Lookup returns the last value of key and whether the key is present.
func (f *File) Lookup(key string) (string, bool) {
	idx := f.index[key]
	if len(idx) == 0 {
		return "", false
	}
	return f.Entries[idx[len(idx)-1]].Value, true
}

// Get returns the last value of key, or "" if it is absent.
func (f *File) Get(key string) string {
	v, _ := f.Lookup(key)
	return v
}

// All returns every value of a repeatable key (tracker_server) in file order.
func (f *File) All(key string) []string {
	idx := f.index[key]
	out := make([]string, 0, len(idx))
	for _, i := range idx {
		out = append(out, f.Entries[i].Value)
	}
	return out
}

// Keys returns the distinct keys in order of first appearance.
func (f *File) Keys() []string {
	out := make([]string, 0, len(f.index))
	seen := make(map[string]bool, len(f.index))
	for _, e := range f.Entries {
		if !seen[e.Key] {
			seen[e.Key] = true
			out = append(out, e.Key)
		}
	}
	return out
}

// where names the file and line a key's (last) value came from, for errors.
func (f *File) where(key string) string {
	idx := f.index[key]
	if len(idx) == 0 {
		return displayName(f.Path)
	}
	e := f.Entries[idx[len(idx)-1]]
	src := e.Source
	if src == "" {
		src = f.Path
	}
	return fmt.Sprintf("%s:%d", displayName(src), e.Line)
}
