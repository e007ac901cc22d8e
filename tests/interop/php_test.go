package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// phpExtension is upstream's PHP extension (php_client/ of the fastdfs
// source built with phpize against the reference; docs/interop.md) from
// FDFS_PHP_EXT, with the php command to load it.
func phpExtension(t *testing.T) string {
	t.Helper()
	ext := os.Getenv("FDFS_PHP_EXT")
	if ext == "" {
		t.Skip("FDFS_PHP_EXT not set (fastdfs_client.so built from the reference's php_client; see docs/interop.md)")
	}
	if _, err := exec.LookPath("php"); err != nil {
		t.Skip("php not found (php-cli is needed for the PHP extension tests)")
	}
	if _, err := os.Stat(ext); err != nil {
		t.Fatalf("FDFS_PHP_EXT: %v", err)
	}
	return ext
}

// TestPHPClient runs php/interop.php (upstream's PHP extension: tracker
// listing and queries, uploads from buffers, files and callbacks with
// metadata, downloads to buffers and files, metadata, file info, slave and
// appender files, delete, the FastDFS class) against each topology,
// without and with the extension's connection pool; "upstream" is the
// control.
func TestPHPClient(t *testing.T) {
	ext := phpExtension(t)
	for _, top := range topologies {
		if top.tools == ours {
			continue // the topology only changes the C programs
		}
		t.Run(top.name, func(t *testing.T) {
			e, _, sts := startTopology(t, top)
			ips := ipsOf(sts)
			for _, mode := range []string{"nopool", "pool"} {
				out, err := e.runPHP(ext, mode, ips, top.idMode)
				if err != nil || !strings.Contains(out, "\nOK ") {
					t.Fatalf("php interop.php (%s): %v\n%s", mode, err, out)
				}
				t.Logf("php interop.php (%s): %s", mode, strings.TrimSpace(tailLines(out, 1)))
			}
		})
	}
}

// runPHP runs php/interop.php with the extension configured by the php.ini
// settings its README names, on the client.conf of the C tools.
func (e *env) runPHP(ext, mode string, ips []string, idMode bool) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	script, err := filepath.Abs(filepath.Join("php", "interop.php"))
	if err != nil {
		return "", err
	}
	args := []string{"-n",
		"-d", "extension=" + ext,
		"-d", "fastdfs_client.base_path=" + e.mkdir("php"),
		"-d", "fastdfs_client.tracker_group_count=1",
		"-d", "fastdfs_client.tracker_group0=" + e.clientConf,
		"-d", "fastdfs_client.log_level=info",
		"-d", fmt.Sprintf("fastdfs_client.use_connection_pool=%v", mode == "pool"),
		script, strings.Join(ips, ","), e.work, mode, map[bool]string{false: "ip", true: "id"}[idMode]}
	cmd := exec.CommandContext(ctx, "php", args...)
	cmd.Env = refEnv()
	cmd.Dir = e.work
	out, err := cmd.CombinedOutput()
	return string(out), err
}
