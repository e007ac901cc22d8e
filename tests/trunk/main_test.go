package trunk

import (
	"os"
	"testing"

	"github.com/fdfsgo/fdfs/tests/internal/fdfsbin"
)

// bin is the fdfs binary TestMain built for the process tests ("" with
// -short).
var bin string

func TestMain(m *testing.M) { os.Exit(fdfsbin.RunTests(m, "fdfs-trunk-", &bin)) }
