package deploy

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dockerfile is the instructions of a Dockerfile, continuation lines
// joined, comments dropped.
type instruction struct {
	op, args string
}

func parseDockerfile(text string) []instruction {
	var out []instruction
	var cur string
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if s, ok := strings.CutSuffix(line, "\\"); ok {
			cur += s + " "
			continue
		}
		cur += line
		op, args, _ := strings.Cut(cur, " ")
		out = append(out, instruction{strings.ToUpper(op), strings.TrimSpace(args)})
		cur = ""
	}
	return out
}

// TestDockerfile checks the image's shape (a Go build stage, a final
// distroless or scratch stage that gets only the binary and its links
// under upstream's program names, running as non-root) and runs the build stage's `go build` exactly as written,
// with its CGO_ENABLED=0, then checks that the binary needs no dynamic
// loader or library, which a distroless/static or scratch image lacks.
// (No docker daemon or registry is reachable here; the image itself is
// not built.)
func TestDockerfile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ins := parseDockerfile(string(readFile(t, deployPath("docker", "Dockerfile"))))
	var froms []string
	var build, entry, copyFrom, user, links string
	var copies []string
	env := map[string]string{}
	for _, in := range ins {
		switch in.op {
		case "FROM":
			froms = append(froms, in.args)
		case "ENV":
			if k, v, ok := strings.Cut(in.args, "="); ok {
				env[k] = v
			}
		case "RUN":
			if strings.HasPrefix(in.args, "go build ") {
				build = in.args
			}
			if m := regexp.MustCompile(`fdfs upstream-links (\S+)$`).FindStringSubmatch(in.args); m != nil {
				links = m[1]
			}
		case "COPY":
			if strings.HasPrefix(in.args, "--from=") {
				copyFrom = in.args
				copies = append(copies, in.args)
			}
		case "ENTRYPOINT":
			entry = in.args
		case "USER":
			user = in.args
		}
	}
	if len(froms) != 2 || !strings.HasPrefix(froms[0], "golang:") || !strings.HasSuffix(froms[0], " AS build") {
		t.Fatalf("stages %q: want a golang build stage and a final one", froms)
	}
	final := froms[1]
	if !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
		t.Errorf("final stage FROM %s: want distroless/static or scratch", final)
	}
	if env["CGO_ENABLED"] != "0" {
		t.Errorf("build stage ENV CGO_ENABLED=%q, want 0 (a static binary)", env["CGO_ENABLED"])
	}
	m := regexp.MustCompile(`^go build (.*) -o (\S+) (\./cmd/fdfs)$`).FindStringSubmatch(build)
	if m == nil {
		t.Fatalf("RUN %q: want go build FLAGS -o OUT ./cmd/fdfs", build)
	}
	if !strings.HasPrefix(copyFrom, "--from=build "+m[2]+" ") {
		t.Errorf("COPY %q does not take the built %s", copyFrom, m[2])
	}
	dest := strings.Fields(copyFrom)[2]
	if entry != `["`+dest+`"]` {
		t.Errorf("ENTRYPOINT %s, want [%q]", entry, dest)
	}
	// The links of upstream's program names go beside the binary.
	if wantCopy := "--from=build " + links + "/ " + filepath.Dir(dest) + "/"; links == "" || !slices.Contains(copies, wantCopy) {
		t.Errorf("no RUN ... fdfs upstream-links DIR with COPY %s: the image lacks upstream's program names", wantCopy)
	}
	if user == "" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0") {
		t.Errorf("USER %q: want a non-root user", user)
	}

	out := filepath.Join(t.TempDir(), "fdfs")
	args := append([]string{"build"}, shellFields(t, m[1])...)
	cmd := exec.Command("go", append(args, "-o", out, m[3])...)
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, b)
	}
	checkStatic(t, out)
}

// shellFields splits flags as the Dockerfile's shell would, for the
// quoting used there (-ldflags="-s -w").
func shellFields(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	for _, f := range regexp.MustCompile(`(?:[^\s"]+|"[^"]*")+`).FindAllString(s, -1) {
		out = append(out, strings.ReplaceAll(f, `"`, ""))
	}
	return out
}

// checkStatic fails unless path is an ELF executable with no program
// interpreter and no needed shared library.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a program interpreter: not static", path)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v", path, libs)
	}
	if fi, err := os.Stat(path); err == nil {
		t.Logf("static binary: %.1f MiB", float64(fi.Size())/(1<<20))
	}
}
