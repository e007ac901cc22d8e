package deploy

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// repoRoot is the repository's top directory.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func deployPath(parts ...string) string {
	return filepath.Join(append([]string{repoRoot(), "deploy"}, parts...)...)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testAPIKey stands for the gateway's key the operator provides.
const testAPIKey = "0123456789abcdef0123456789abcdef"
