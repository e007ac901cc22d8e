package layering_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/fdfsgo/fdfs"

// A rule forbids the packages matching from (go list patterns over import
// paths: "x/..." is x and everything below it, "..." elsewhere any text) to
// import, directly or not, any package matching one of forbid.
type rule struct {
	name   string
	from   []string
	except []string // packages of from the rule does not apply to
	forbid []string
	// tests applies the rule to the test build of from as well: its
	// _test.go files and the packages they import.
	tests bool
}

var rules = []rule{
	{
		name:   "the client engine is below the servers",
		from:   []string{mod + "/fdfsengine/..."},
		forbid: []string{mod + "/trackernode/...", mod + "/storagenode/...", mod + "/server/..."},
		// Tests that need real servers belong in tests/ (tests/engine).
		tests: true,
	},
	{
		name:   "the tracker does not depend on the storage server or the gateway",
		from:   []string{mod + "/trackernode/..."},
		forbid: []string{mod + "/storagenode/...", mod + "/server/..."},
	},
	{
		name:   "the storage server does not depend on the tracker or the gateway",
		from:   []string{mod + "/storagenode/..."},
		forbid: []string{mod + "/trackernode/...", mod + "/server/..."},
	},
	{
		name:   "production code does not import tests/",
		from:   []string{mod + "/..."},
		except: []string{mod + "/tests/..."},
		forbid: []string{mod + "/tests/..."},
	},
	{
		name: "the fdfs binary links no test code",
		from: []string{mod + "/cmd/fdfs"},
		forbid: []string{
			"testing/...",
			mod + "/tests/...",
			"google.golang.org/grpc/test/...",
			".../internal/testutils/...",
		},
	},
}

func TestLayering(t *testing.T) {
	graphs := map[bool]graph{} // by the rules' tests field
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			g, ok := graphs[r.tests]
			if !ok {
				var err error
				if g, err = loadGraph(r.tests); err != nil {
					t.Fatal(err)
				}
				graphs[r.tests] = g
			}
			roots := 0
			for _, id := range g.ids {
				p := pathOf(id)
				// A generated test main ("p.test") imports nothing
				// of its own beyond the test build of p.
				if strings.HasSuffix(p, ".test") || !matchAny(r.from, p) || matchAny(r.except, p) {
					continue
				}
				roots++
				for _, chain := range g.violations(id, r.forbid) {
					t.Errorf("%s imports %s:\n\t%s", p, pathOf(chain[len(chain)-1]), strings.Join(chain, "\n\t-> "))
				}
			}
			// A pattern that matches nothing (a package renamed) would
			// make the rule pass silently.
			if roots == 0 {
				t.Fatalf("no package matches %v", r.from)
			}
		})
	}
}

// graph is the import graph of the module's packages and their
// dependencies, as go list reports it. With tests, the ids of test builds
// carry a suffix: "p [p.test]" is p compiled with its _test.go files.
type graph struct {
	ids     []string // in go list's order
	imports map[string][]string
}

func loadGraph(tests bool) (graph, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return graph{}, fmt.Errorf("go env GOMOD: %w", err)
	}
	gomodPath := strings.TrimSpace(string(gomod))
	cmd := exec.Command("go", "list", "-e", "-deps", fmt.Sprintf("-test=%t", tests),
		"-json=ImportPath,Imports,Error,Dir,GoFiles,CgoFiles,TestGoFiles,XTestGoFiles", "./...")
	cmd.Dir = filepath.Dir(gomodPath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return graph{}, fmt.Errorf("go list: %w\n%s", err, stderr.Bytes())
	}
	// go test caches a passing result by the files the test itself
	// opens or stats, and knows nothing of what go list read: stat the
	// module's sources so that a changed import runs the test again.
	inputs := []string{gomodPath}
	g := graph{imports: map[string][]string{}}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Imports    []string
			Error      *struct{ Err string }

			Dir                                          string
			GoFiles, CgoFiles, TestGoFiles, XTestGoFiles []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return graph{}, fmt.Errorf("go list output: %w", err)
		}
		if p.Error != nil {
			return graph{}, fmt.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		g.ids = append(g.ids, p.ImportPath)
		g.imports[p.ImportPath] = p.Imports
		if matchAny([]string{mod + "/..."}, pathOf(p.ImportPath)) {
			inputs = append(inputs, p.Dir) // a file added or removed
			for _, f := range slices.Concat(p.GoFiles, p.CgoFiles, p.TestGoFiles, p.XTestGoFiles) {
				inputs = append(inputs, filepath.Join(p.Dir, f))
			}
		}
	}
	for _, f := range inputs {
		os.Stat(f) // for the test cache only: an error changes nothing
	}
	return g, nil
}

// violations returns, for each forbidden package that root reaches, the
// shortest import chain from root to it.
func (g graph) violations(root string, forbid []string) [][]string {
	parent := map[string]string{root: ""}
	var found [][]string
	for queue := []string{root}; len(queue) > 0; queue = queue[1:] {
		id := queue[0]
		for _, dep := range g.imports[id] {
			if _, seen := parent[dep]; seen {
				continue
			}
			parent[dep] = id
			if !matchAny(forbid, pathOf(dep)) {
				queue = append(queue, dep)
				continue
			}
			chain := []string{dep}
			for p := id; p != ""; p = parent[p] {
				chain = append([]string{p}, chain...)
			}
			found = append(found, chain)
		}
	}
	return found
}

// pathOf drops the test-build suffix of a go list id.
func pathOf(id string) string {
	p, _, _ := strings.Cut(id, " ")
	return p
}

func matchAny(patterns []string, path string) bool {
	for _, p := range patterns {
		if patternRegexp(p).MatchString(path) {
			return true
		}
	}
	return false
}

// patternRegexp compiles a go list pattern: a trailing "/..." also matches
// the path without it.
func patternRegexp(pattern string) *regexp.Regexp {
	re := regexp.QuoteMeta(pattern)
	if r, ok := strings.CutSuffix(re, `/\.\.\.`); ok {
		re = r + `(/\.\.\.)?`
	}
	return regexp.MustCompile("^" + strings.ReplaceAll(re, `\.\.\.`, ".*") + "$")
}

func TestPatterns(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"a/b/...", "a/b", true},
		{"a/b/...", "a/b/c/d", true},
		{"a/b/...", "a/bc", false},
		{"a/b", "a/b/c", false},
		{"testing", "testing", true},
		{"testing", "testing/quick", false},
		{".../internal/testutils/...", "google.golang.org/grpc/internal/testutils", true},
		{".../internal/testutils/...", "google.golang.org/grpc/internal/testutils/xds", true},
		{".../internal/testutils/...", "x/internal/testutilsx", false},
	}
	for _, tc := range tests {
		if got := matchAny([]string{tc.pattern}, tc.path); got != tc.want {
			t.Errorf("%q matches %q: %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
}
