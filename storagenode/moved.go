package storagenode

import (
	"bufio"
	"bytes"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/fdfsgo/fdfs/internal/addrmoves"
	"github.com/fdfsgo/fdfs/internal/atomicfile"
)

// movedFile, in base_path/data, lists the address changes of this storage
// and of its peers (IP mode) as "old new" lines. A file's name carries its
// source's address at upload; the HTTP server's redirect of a file it
// lacks and the re-logging of our own files after a crash must find that
// source under its address now, also after a restart, while the trackers
// announce each change once (ipchange.go). Upstream keeps no such file.
const movedFile = ".moved_addresses"

// moves is the address book of movedFile.
type moves struct {
	mu   sync.Mutex
	path string
	book addrmoves.Book
}

// loadMoves reads movedFile at path (none yet: empty); lines that are not
// two fields are skipped.
func loadMoves(path string) (*moves, error) {
	mv := &moves{path: path}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return mv, nil
	}
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 {
			mv.book.Add(f[0], f[1])
		}
	}
	return mv, sc.Err()
}

// add records that the storage at old is now at newAddr and saves the
// book (crash-safely) when that is news.
func (mv *moves) add(old, newAddr string) error {
	mv.mu.Lock()
	defer mv.mu.Unlock()
	if !mv.book.Add(old, newAddr) {
		return nil
	}
	var lines []string
	for _, p := range mv.book.Pairs() {
		lines = append(lines, p[0]+" "+p[1]+"\n")
	}
	sort.Strings(lines)
	return atomicfile.WriteFile(mv.path, []byte(strings.Join(lines, "")), fileMode)
}

// current is the address the storage once at addr has now (addr itself
// when it never moved).
func (mv *moves) current(addr string) string {
	mv.mu.Lock()
	defer mv.mu.Unlock()
	return mv.book.Current(addr)
}
