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
	var pairs [][2]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 {
			pairs = append(pairs, [2]string{f[0], f[1]})
		}
	}
	// Add forgets where an address moved on to when a move into it is
	// added: the move into an address goes first, or the chain a→b→c,
	// saved as the sorted lines "b c", "a b", would load as a→b only.
	depth := moveDepths(pairs)
	sort.SliceStable(pairs, func(i, j int) bool { return depth[pairs[i][0]] > depth[pairs[j][0]] })
	for _, p := range pairs {
		mv.book.Add(p[0], p[1])
	}
	return mv, sc.Err()
}

// moveDepths returns, for the old address of each move, how many moves
// follow from it to the address its storage has now (a cycle, from a
// hand edit, ends where it closes).
func moveDepths(pairs [][2]string) map[string]int {
	next := make(map[string]string, len(pairs))
	for _, p := range pairs {
		next[p[0]] = p[1]
	}
	depth := make(map[string]int, len(next))
	for start := range next {
		var path []string
		seen := map[string]bool{}
		d := 0
		for a := start; ; a = next[a] {
			if known, ok := depth[a]; ok {
				d = known
				break
			}
			if _, ok := next[a]; !ok || seen[a] {
				break
			}
			seen[a] = true
			path = append(path, a)
		}
		for i := len(path) - 1; i >= 0; i-- {
			d++
			depth[path[i]] = d
		}
	}
	return depth
}

// add records that the storage at old is now at newAddr and saves the
// book (crash-safely) when that is news.
func (mv *moves) add(old, newAddr string) error {
	mv.mu.Lock()
	defer mv.mu.Unlock()
	if !mv.book.Add(old, newAddr) {
		return nil
	}
	return mv.save()
}

// save writes the book to its file; mv.mu held.
func (mv *moves) save() error {
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
