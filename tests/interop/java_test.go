package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The Java tests take fastdfs-client-java already compiled (plain javac, as
// the reference environment's README says) from FDFS_JAVA_CLIENT_CLASSES,
// and compile only their own java/*.java against it, once per test binary
// run.
var (
	javaOnce sync.Once
	javaCP   string // classpath of the client and Interop
	javaErr  error
)

func javaClasspath(t *testing.T) string {
	t.Helper()
	classes := os.Getenv("FDFS_JAVA_CLIENT_CLASSES")
	if classes == "" {
		t.Skip("FDFS_JAVA_CLIENT_CLASSES not set (fastdfs-client-java compiled with javac; see docs/interop.md)")
	}
	for _, tool := range []string{"javac", "java"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found (a JDK is needed for the Java client tests)", tool)
		}
	}
	javaOnce.Do(func() { javaCP, javaErr = compileInterop(classes) })
	if javaErr != nil {
		t.Fatalf("compiling java/Interop.java: %v", javaErr)
	}
	return javaCP
}

// compileInterop compiles java/*.java (Interop, LoadGen) against the
// client's classes and returns the classpath of both.
func compileInterop(classes string) (string, error) {
	if _, err := os.Stat(filepath.Join(classes, "org", "csource", "fastdfs", "ClientGlobal.class")); err != nil {
		return "", fmt.Errorf("FDFS_JAVA_CLIENT_CLASSES=%s holds no compiled fastdfs-client-java: %w", classes, err)
	}
	prog := filepath.Join(tmpRoot, "java", "interop")
	sources, err := filepath.Glob(filepath.Join("java", "*.java"))
	if err != nil || len(sources) == 0 {
		return "", fmt.Errorf("no java/*.java: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{"-encoding", "UTF-8", "-cp", classes, "-d", prog}, sources...)
	if out, err := exec.CommandContext(ctx, "javac", args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("javac %v: %v\n%s", sources, err, out)
	}
	return classes + string(os.PathListSeparator) + prog, nil
}

// TestJavaClient runs java/Interop.java (fastdfs-client-java: cluster
// listing, upload, download, metadata, slave and appender files, file
// info, delete) against each topology, without and with the client's
// connection pool; "upstream" is the control.
func TestJavaClient(t *testing.T) {
	cp := javaClasspath(t)
	for _, top := range topologies {
		t.Run(top.name, func(t *testing.T) {
			e, _, sts := startTopology(t, top)
			ips := ipsOf(sts)
			for _, mode := range []string{"nopool", "pool"} {
				// The client.conf of the C tools plus the Java pool switch.
				base, err := os.ReadFile(e.clientConf)
				if err != nil {
					t.Fatal(err)
				}
				conf := filepath.Join(e.dir, "java-"+mode+".conf")
				extra := fmt.Sprintf("connection_pool.enabled = %v\n", mode == "pool")
				if err := os.WriteFile(conf, append(base, extra...), 0o644); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				idArg := map[bool]string{false: "ip", true: "id"}[top.idMode]
				cmd := exec.CommandContext(ctx, "java", "-cp", cp, "Interop", conf, strings.Join(ips, ","), e.work, mode, idArg)
				out, err := cmd.CombinedOutput()
				cancel()
				if err != nil || !strings.Contains(string(out), "\nOK ") {
					t.Fatalf("java Interop (%s): %v\n%s", mode, err, out)
				}
				t.Logf("java Interop (%s): %s", mode, strings.TrimSpace(tailLines(string(out), 1)))
			}
		})
	}
}
