package conf

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Bounds on what one configuration may pull in: upstream confs are a few
// hundred lines, so these only stop runaway or cyclic includes.
const (
	maxIncludeDepth = 8
	maxIncludes     = 64
	maxConfSize     = 4 << 20 // bytes per file
	// maxItemNameLen and maxItemValueLen are libfastcommon's
	// FAST_INI_ITEM_NAME_LEN and FAST_INI_ITEM_VALUE_LEN: longer names and
	// values are truncated (with a warning), as upstream does.
	maxItemNameLen  = 63
	maxItemValueLen = 255
)

// Entry is one "key = value" line.
type Entry struct {
	Section    string // "" for the global part, else the "[section]" it is in
	Key, Value string
	Source     string // file the line came from ("" for ParseFile's own data)
	Line       int    // 1-based line number in Source
}

// File is a parsed configuration: every key/value line in order, includes
// and directives expanded in place.
//
// The syntax is libfastcommon's ini_file_reader: "#" comments; "key = value"
// (a key may repeat; the last value wins for single-valued keys);
// "[section]" starts a section and "[]" goes back to the global part;
// "#include file" (case-insensitive, relative names against the directory
// of the top-level file, "file://" prefix allowed) reads another file, which
// starts in the global part and leaves the includer in the global part too;
// and the directives "#@set", "#@if ... #@else ... #@endif",
// "#@for ... #@endfor" and "#@function LOCAL_IP_GET|REPLACE_VARS".
type File struct {
	// Path is the file LoadFile read ("" when parsed from bytes).
	Path    string
	Entries []Entry
	// Warnings are the things upstream logs as warnings while loading and
	// then works around (a corrected value, an ignored directive); the
	// daemons log them at start.
	Warnings []string
	index    map[string][]int // section + "\x00" + key
	sections []string         // in order of first appearance
	dir      string           // base for relative paths
	vars     map[string]string
}

func indexKey(section, key string) string { return section + "\x00" + key }

// LoadFile reads and parses the configuration at path; includes are
// resolved against path's directory.
func LoadFile(path string) (*File, error) {
	data, err := readConf(path)
	if err != nil {
		return nil, err
	}
	f := newFile(path, filepath.Dir(path))
	p := parser{f: f}
	if err := p.parse(data, path, 0); err != nil {
		return nil, err
	}
	return f, nil
}

// ParseFile parses configuration text; "#include" targets and other
// relative paths are resolved against dir.
func ParseFile(data []byte, dir string) (*File, error) {
	f := newFile("", dir)
	p := parser{f: f}
	if err := p.parse(data, "", 0); err != nil {
		return nil, err
	}
	return f, nil
}

func newFile(path, dir string) *File {
	return &File{Path: path, dir: dir, index: map[string][]int{}, vars: map[string]string{}}
}

// readConf reads the file at path, at most maxConfSize bytes. The bound
// is also on what is read, not only on the size stat gives: a pipe (a
// shell's <(...)), /proc or a device such as /dev/zero have none, and the
// last would be read until memory runs out.
func readConf(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("conf: %w", err)
	}
	defer f.Close()
	tooLarge := &Error{File: path, Problem: fmt.Sprintf("larger than %d bytes", maxConfSize)}
	if st, err := f.Stat(); err == nil && st.Size() > maxConfSize {
		return nil, tooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, maxConfSize+1))
	if err != nil {
		return nil, fmt.Errorf("conf: %w", err)
	}
	if len(data) > maxConfSize {
		return nil, tooLarge
	}
	return data, nil
}

// srcLine is one line of a file being parsed, with its original number
// (lines copied by #@for keep the number of their template line).
type srcLine struct {
	no   int
	text string
}

type parser struct {
	f        *File
	includes int
}

func (p *parser) warnf(source string, line int, format string, args ...any) {
	p.f.Warnings = append(p.f.Warnings, fmt.Sprintf("%s:%d: %s", displayName(source), line, fmt.Sprintf(format, args...)))
}

// trimBlank is fc_trim: spaces, tabs, CR and LF at both ends.
func trimBlank(s string) string { return strings.Trim(s, " \t\r\n") }

// fileState is what parse carries from one line of a file to the next.
type fileState struct {
	source  string // the file's name, "" for ParseFile's own data
	depth   int    // how deep the file is included (0 for the top-level file)
	section string // the current "[section]", "" for the global part
	// annotation is the name of a #@function waiting for the key=value
	// line at index annotationAt of the expanded lines ("" for none).
	annotation   string
	annotationAt int
}

// parse parses the configuration text data of file source, included
// depth levels deep, into p.f: its #@if and #@for blocks expanded, then
// line by line.
func (p *parser) parse(data []byte, source string, depth int) error {
	lines := p.splitLines(data, source)
	// The file's last line, before #@if and #@for expand: not the empty
	// string after a final newline.
	lastLine := len(lines)
	if lastLine > 1 && lines[lastLine-1].text == "" {
		lastLine--
	}
	lines = p.expandIfs(lines, source)
	lines = p.expandFors(lines, source)

	st := fileState{source: source, depth: depth, annotationAt: -1}
	for i, ln := range lines {
		if st.annotation != "" && i != st.annotationAt {
			p.warnf(source, ln.no, "#@function %s must be followed by a key=value line; ignored", st.annotation)
			st.annotation = ""
		}
		line := trimBlank(ln.text)
		switch {
		case line == "":
		case line[0] == '#':
			if err := p.comment(&st, line, ln.no, i); err != nil {
				return err
			}
		case line[0] == '[' && line[len(line)-1] == ']':
			p.enterSection(&st, line)
		default:
			p.keyValue(&st, line, ln.no)
		}
	}
	if st.annotation != "" {
		p.warnf(source, lastLine, "#@function %s must be followed by a key=value line; ignored", st.annotation)
	}
	return nil
}

// splitLines splits data into lines numbered from 1, up to its first NUL
// byte if any (with a warning).
func (p *parser) splitLines(data []byte, source string) []srcLine {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		// Upstream reads the file as a C string.
		p.warnf(source, bytes.Count(data[:i], []byte("\n"))+1, "NUL byte: the rest of the file is ignored")
		data = data[:i]
	}
	raw := strings.Split(string(data), "\n")
	lines := make([]srcLine, len(raw))
	for i, s := range raw {
		lines[i] = srcLine{no: i + 1, text: s}
	}
	return lines
}

// comment handles line, a trimmed line starting with '#' (number no in
// the file, index i in the expanded lines): an #include is parsed in
// place, a #@function annotates the next line, and #@add_annotation is
// refused.
func (p *parser) comment(st *fileState, line string, no, i int) error {
	if name, ok := directiveArg(line, "include"); ok {
		if err := p.include(name, st.source, no, st.depth); err != nil {
			return err
		}
		st.section = "" // upstream: back to the global part after an include
		return nil
	}
	if name, ok := directiveArg(line, "@function"); ok {
		if len(name) > maxItemNameLen {
			name = trimBlank(name[:maxItemNameLen])
		}
		st.annotation, st.annotationAt = name, i+1
		return nil
	}
	if arg, ok := directiveArg(line, "@add_annotation"); ok {
		return &Error{File: st.source, Line: no, Key: "#@add_annotation " + arg,
			Problem: "loading annotation libraries is not supported"}
	}
	return nil // comment, or a directive handled before (#@set, #@if, #@for)
}

// enterSection handles line, a trimmed "[section]" line: the lines after
// it are in that section, or in the global part for "[]".
func (p *parser) enterSection(st *fileState, line string) {
	st.section = trimBlank(line[1 : len(line)-1])
	if st.section != "" && !contains(p.f.sections, st.section) {
		p.f.sections = append(p.f.sections, st.section)
	}
}

// keyValue adds the entry of line, a trimmed line of number no that is
// neither a comment nor a section: "name = value", truncated as upstream
// does and passed through a pending #@function. A line without '=' is
// ignored.
func (p *parser) keyValue(st *fileState, line string, no int) {
	eq := strings.IndexByte(line, '=')
	if eq < 0 {
		return // upstream ignores lines without '='
	}
	name, value := line[:eq], line[eq+1:]
	if len(name) > maxItemNameLen {
		p.warnf(st.source, no, "name %q is longer than %d bytes: truncated", name, maxItemNameLen)
		name = name[:maxItemNameLen]
	}
	if len(value) > maxItemValueLen {
		p.warnf(st.source, no, "value of %s is longer than %d bytes: truncated", trimBlank(name), maxItemValueLen)
		value = value[:maxItemValueLen]
	}
	name, value = trimBlank(name), trimBlank(value)
	fn := st.annotation
	st.annotation = ""
	if name == "" {
		return // dropped, its #@function with it
	}
	values := []string{value}
	if fn != "" {
		values = p.annotate(fn, name, value, st.source, no)
	}
	for _, v := range values {
		p.add(Entry{Section: st.section, Key: name, Value: v, Source: st.source, Line: no})
	}
}

func (p *parser) add(e Entry) {
	k := indexKey(e.Section, e.Key)
	p.f.index[k] = append(p.f.index[k], len(p.f.Entries))
	p.f.Entries = append(p.f.Entries, e)
}

// directiveArg recognises "#<name> <arg>" (name case-insensitive, then a
// space or a tab, as upstream) and returns the trimmed argument.
func directiveArg(line, name string) (string, bool) {
	n := 1 + len(name)
	if len(line) <= n || !strings.EqualFold(line[1:n], name) || (line[n] != ' ' && line[n] != '\t') {
		return "", false
	}
	return trimBlank(line[n+1:]), true
}

func (p *parser) include(name, source string, line int, depth int) error {
	fail := func(problem, accepted string, err error) error {
		return &Error{File: source, Line: line, Key: strings.TrimSpace("#include " + name), Problem: problem, Accepted: accepted, Err: err}
	}
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		return fail("including a URL is not supported", "a file path, absolute or relative to "+p.f.dir, nil)
	}
	if strings.HasPrefix(lower, "file://") {
		name = name[len("file://"):]
	}
	if name == "" {
		return fail("no file name", "a file path", nil)
	}
	if depth+1 > maxIncludeDepth {
		return fail(fmt.Sprintf("includes nested deeper than %d", maxIncludeDepth), "", nil)
	}
	p.includes++
	if p.includes > maxIncludes {
		return fail(fmt.Sprintf("more than %d includes", maxIncludes), "", nil)
	}
	path := name
	if !filepath.IsAbs(path) {
		// Upstream resolves every include, nested ones too, against the
		// directory of the top-level file.
		path = filepath.Join(p.f.dir, path)
	}
	data, err := readConf(path)
	if err != nil {
		return fail("cannot be read", "", err)
	}
	return p.parse(data, path, depth+1)
}

func displayName(source string) string {
	if source == "" {
		return "<config>"
	}
	return source
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Lookup returns the last value of key in the global part (outside any
// section) and whether the key is present.
func (f *File) Lookup(key string) (string, bool) { return f.LookupIn("", key) }

// LookupIn returns the last value of key in section ("" = global part).
func (f *File) LookupIn(section, key string) (string, bool) {
	e := f.entry(section, key)
	if e == nil {
		return "", false
	}
	return e.Value, true
}

func (f *File) entry(section, key string) *Entry {
	idx := f.index[indexKey(section, key)]
	if len(idx) == 0 {
		return nil
	}
	return &f.Entries[idx[len(idx)-1]]
}

// Get returns the last value of key in the global part, or "" if absent.
func (f *File) Get(key string) string {
	v, _ := f.Lookup(key)
	return v
}

// All returns every global value of a repeatable key (tracker_server) in
// file order.
func (f *File) All(key string) []string {
	idx := f.index[indexKey("", key)]
	out := make([]string, 0, len(idx))
	for _, i := range idx {
		out = append(out, f.Entries[i].Value)
	}
	return out
}

// allEntries is All with the entries (for file:line in errors).
func (f *File) allEntries(key string) []*Entry {
	idx := f.index[indexKey("", key)]
	out := make([]*Entry, 0, len(idx))
	for _, i := range idx {
		out = append(out, &f.Entries[i])
	}
	return out
}

// Keys returns the distinct global keys in order of first appearance.
func (f *File) Keys() []string { return f.SectionKeys("") }

// SectionKeys returns the distinct keys of section in order of first
// appearance ("" = the global part).
func (f *File) SectionKeys(section string) []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range f.Entries {
		if e.Section == section && !seen[e.Key] {
			seen[e.Key] = true
			out = append(out, e.Key)
		}
	}
	return out
}

// Sections returns the section names in order of first appearance
// (sections with no keys included).
func (f *File) Sections() []string { return append([]string(nil), f.sections...) }

// location names the file and line of e, or the file when e is nil.
func (f *File) location(e *Entry) string {
	if e == nil {
		return displayName(f.Path)
	}
	src := e.Source
	if src == "" {
		src = f.Path
	}
	return fmt.Sprintf("%s:%d", displayName(src), e.Line)
}
