package interop

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/internal/testwait"
)

// Most FastDFS sites serve their files over HTTP with nginx and
// fastdfs-nginx-module on every storage host: the module reads the files
// straight from the storage's store path (trunk files included), asks the
// tracker for its parameters and the storage ids, and sends a request for
// a file not replicated to that host yet to the file's source storage
// (proxied, or redirected with ?redirect=1). A site that swaps the daemons
// keeps its nginx, so these tests run that nginx on the store path of one
// of our storages. FDFS_NGINX names an nginx built with the module
// (scripts/build-nginx-module.sh); without it the tests skip.

// nginxPort is where the nginx of a test listens, on the address of the
// storage whose store path it serves; the module sends requests for files
// not there to the same port on the source storage, where our storage's
// own HTTP server (http.server_port) answers.
const nginxPort = 8888

func nginxBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("FDFS_NGINX")
	if bin == "" {
		t.Skip("FDFS_NGINX not set (nginx built with fastdfs-nginx-module: scripts/build-nginx-module.sh; see docs/interop.md)")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("FDFS_NGINX=%s: %v", bin, err)
	}
	return bin
}

// nginxServer is one nginx process (master_process off: one process,
// which the module initialises in) serving store with the module.
type nginxServer struct {
	e    *env
	name string
	addr string
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// startNginx runs nginx on ip:nginxPort for the store path of st, with
// the module's response_mode mode, its parameters from tracker tr (as the
// stock mod_fastdfs.conf has it) and upstream's stock http.conf and
// mime.types included.
func (e *env) startNginx(bin string, st, tr *node, mode string) *nginxServer {
	e.t.Helper()
	n := &nginxServer{e: e, name: "nginx-" + mode, addr: net.JoinHostPort(st.ip, strconv.Itoa(nginxPort))}
	n.dir = e.mkdir(n.name)
	e.mkdir(n.name, "logs")
	for _, f := range []string{"http.conf", "mime.types"} {
		b, err := os.ReadFile(filepath.Join(refEtc, f))
		must(e.t, err)
		must(e.t, os.WriteFile(filepath.Join(n.dir, f), b, 0o644))
	}
	mod := fmt.Sprintf(`# mod_fastdfs.conf, written by tests/interop (the stock file's keys)
connect_timeout = 5
network_timeout = 30
base_path = %s
load_fdfs_parameters_from_tracker = true
storage_sync_file_max_delay = 86400
use_storage_id = false
storage_ids_filename = storage_ids.conf
tracker_server = %s
storage_server_port = %d
group_name = %s
url_have_group_name = true
store_path_count = 1
store_path0 = %s
log_level = info
log_filename = %s
response_mode = %s
if_alias_prefix =
flv_support = true
flv_extension = flv
group_count = 0
#include http.conf
`, n.dir, tr.addr(), st.port, st.group, st.store, filepath.Join(n.dir, "logs", "mod_fastdfs.log"), mode)
	modConf := filepath.Join(n.dir, "mod_fastdfs.conf")
	must(e.t, os.WriteFile(modConf, []byte(mod), 0o644))
	conf := fmt.Sprintf(`# nginx.conf, written by tests/interop
daemon off;
master_process off;
error_log %[1]s/logs/error.log info;
pid %[1]s/logs/nginx.pid;
env FDFS_MOD_CONF;
events { worker_connections 64; }
http {
    access_log off;
    server {
        listen %[2]s;
        location /%[3]s/M00/ {
            ngx_fastdfs_module;
        }
    }
}
`, n.dir, n.addr, st.group)
	nginxConf := filepath.Join(n.dir, "nginx.conf")
	must(e.t, os.WriteFile(nginxConf, []byte(conf), 0o644))

	out, err := os.OpenFile(filepath.Join(n.dir, "nginx.out"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	must(e.t, err)
	n.cmd = exec.Command(bin, "-p", n.dir, "-c", nginxConf)
	n.cmd.Env = append(refEnv(), "FDFS_MOD_CONF="+modConf)
	n.cmd.Stdout, n.cmd.Stderr = out, out
	n.cmd.SysProcAttr = daemonAttr()
	if err := n.cmd.Start(); err != nil {
		out.Close()
		e.t.Fatalf("start %s: %v", n.name, err)
	}
	n.done = make(chan struct{})
	go func() {
		n.cmd.Wait()
		out.Close()
		close(n.done)
	}()
	e.t.Cleanup(func() {
		n.stop()
		if e.t.Failed() {
			for _, f := range []string{"nginx.out", "logs/error.log", "logs/mod_fastdfs.log"} {
				b, _ := os.ReadFile(filepath.Join(n.dir, f))
				e.t.Logf("---- %s %s:\n%s", n.name, f, tailLines(string(b), logTail))
			}
		}
	})
	testwait.Until(e.t, waitLimit, n.name+" to listen", func() bool {
		select {
		case <-n.done:
			e.t.Fatalf("%s exited at start", n.name)
		default:
		}
		c, err := net.DialTimeout("tcp", n.addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return n
}

// stop ends nginx (SIGTERM: fast shutdown) and waits for it (SIGKILL
// after stopLimit).
func (n *nginxServer) stop() {
	select {
	case <-n.done:
		return
	default:
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(stopLimit):
		n.cmd.Process.Kill()
		<-n.done
	}
}

// httpReply is what one HTTP request got.
type httpReply struct {
	status int
	header http.Header
	body   []byte
}

// noRedirects is a client that hands redirects back instead of following.
var noRedirects = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// get requests url (with a Range header when rng is given) without
// following redirects.
func get(t *testing.T, url, rng string) httpReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	must(t, err)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && resp.StatusCode/100 != 3 {
		// The module sends its redirect as a head only, and the
		// connection can end before a body Go's client waits for:
		// only the head counts.
		t.Fatalf("GET %s: status %d, reading the body: %v", url, resp.StatusCode, err)
	}
	return httpReply{resp.StatusCode, resp.Header, b}
}

// expectServed checks that nginx answers id with 200 and want, and a
// range of it with 206.
func (n *nginxServer) expectServed(id string, want []byte) {
	t := n.e.t
	t.Helper()
	url := "http://" + n.addr + "/" + id
	r := get(t, url, "")
	if r.status != http.StatusOK || !bytes.Equal(r.body, want) {
		t.Fatalf("GET %s: status %d, %d bytes (want 200, %d bytes, equal)", url, r.status, len(r.body), len(want))
	}
	if len(want) < 3 {
		return
	}
	from, to := len(want)/3, len(want)/3*2
	r = get(t, url, fmt.Sprintf("bytes=%d-%d", from, to))
	wantRange := fmt.Sprintf("bytes %d-%d/%d", from, to, len(want))
	if r.status != http.StatusPartialContent || !bytes.Equal(r.body, want[from:to+1]) || r.header.Get("Content-Range") != wantRange {
		t.Fatalf("GET %s bytes=%d-%d: status %d, Content-Range %q, %d bytes (want 206, %q, %d bytes, equal)",
			url, from, to, r.status, r.header.Get("Content-Range"), len(r.body), wantRange, to+1-from)
	}
}

// TestNginxModule: nginx with fastdfs-nginx-module on the store path of
// one of our storages (A), our other storage (B) serving HTTP itself on
// the same port: the files A holds are served from its disk (normal,
// appender after an append, slave, empty; ranges), and while A is down the
// files only B has are proxied to B, or redirected there, and found
// missing there once deleted; after A caught up it serves them itself. In
// IP mode and in storage-id mode (the module maps the source id of a file
// name to its address with the ids it fetched from our tracker).
func TestNginxModule(t *testing.T) {
	bin := nginxBin(t)
	for _, idMode := range []bool{false, true} {
		name := "ipMode"
		if idMode {
			name = "idMode"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			a := e.newStorage(ours, "group1")
			b := e.newStorage(ours, "group1", "http.server_port="+strconv.Itoa(nginxPort))
			if idMode {
				e.useStorageIDs()
			}
			tr := e.addTracker(ours)
			a.run(tr)
			b.run(tr)
			e.writeClientConf()
			e.waitActive(a, b)
			both := []*node{a, b}

			type file struct {
				id string
				c  []byte
			}
			var files []file
			for i, src := range both {
				for j, size := range []int{5 << 10, 300_000, 0} {
					c := randBytes(uint64(10*i+j+1), size)
					files = append(files, file{e.upload(e.writeLocal(fmt.Sprintf("f%d%d.jpg", i, j), c), src.addr()), c})
				}
			}
			p1, p2 := randBytes(40, 70_000), randBytes(41, 33_333)
			aid := e.uploadAppender(e.writeLocal("log1.log", p1))
			e.mustRun("fdfs_append_file", e.clientConf, aid, e.writeLocal("log2.log", p2))
			files = append(files, file{aid, append(append([]byte{}, p1...), p2...)})
			img := randBytes(42, 20_000)
			r := e.mustRun("fdfs_test1", e.clientConf, "upload", e.writeLocal("img.jpg", img))
			ids := urlIDs(r.stdout)
			if len(ids) != 2 {
				t.Fatalf("fdfs_test1 upload: want a master and a slave ID:\n%s", r)
			}
			files = append(files, file{ids[0], img}, file{ids[1], img})
			for _, f := range files {
				e.waitOnDisk(f.id, f.c, both...)
			}

			proxy := e.startNginx(bin, a, tr, "proxy")
			for _, f := range files {
				proxy.expectServed(f.id, f.c)
			}

			// A down: what B takes now is not on A's disk.
			must(t, a.stop())
			x := randBytes(50, 9000)
			xid := e.upload(e.writeLocal("x.jpg", x), b.addr())
			zid := e.upload(e.writeLocal("z.jpg", randBytes(51, 100)), b.addr())
			e.mustRun("fdfs_delete_file", e.clientConf, zid)
			proxy.expectServed(xid, x) // through B
			if r := get(t, "http://"+proxy.addr+"/"+zid, ""); r.status != http.StatusNotFound {
				t.Fatalf("GET %s (deleted) through nginx: status %d (%q), want 404", zid, r.status, r.body)
			}
			proxy.stop()

			redirect := e.startNginx(bin, a, tr, "redirect")
			url := "http://" + redirect.addr + "/" + xid
			r2 := get(t, url, "")
			want := "http://" + net.JoinHostPort(b.ip, strconv.Itoa(nginxPort)) + "/" + xid + "?redirect=1"
			if r2.status != http.StatusFound || r2.header.Get("Location") != want {
				t.Fatalf("GET %s: status %d, Location %q (want 302 to %s)", url, r2.status, r2.header.Get("Location"), want)
			}
			if r3 := get(t, want, ""); r3.status != http.StatusOK || !bytes.Equal(r3.body, x) {
				t.Fatalf("GET %s (the redirect, served by our storage B): status %d, %d bytes (want 200, %d bytes, equal)",
					want, r3.status, len(r3.body), len(x))
			}

			// A back: it catches up, and with B down nginx serves the file
			// from A's disk.
			a.start()
			e.waitOnDisk(xid, x, a)
			must(t, b.stop())
			redirect.expectServed(xid, x)
			for _, f := range files {
				redirect.expectServed(f.id, f.c)
			}
		})
	}
}

// TestNginxModuleTrunk: nginx with fastdfs-nginx-module on the store path
// of our storage with trunks on reads the small files out of our trunk
// files (the module checks each slot's header against the file name), those
// our storage stored and those it received from the other storage.
func TestNginxModuleTrunk(t *testing.T) {
	bin := nginxBin(t)
	e := newEnv(t)
	tr := e.addTracker(ours, trunkTrackerConf...)
	a := e.addStorage(ours, "group1", []*node{tr})
	b := e.addStorage(ours, "group1", []*node{tr})
	e.writeClientConf()
	e.waitActive(a, b)
	both := []*node{a, b}
	e.waitTrunkUploads(both...)
	type file struct {
		id string
		c  []byte
	}
	var files []file
	for i := range 8 {
		c := patterned(i+30, 100+i*977)
		id := e.upload(e.writeLocal(fmt.Sprintf("t%d.bin", i), c), both[i%2].addr())
		if !isTrunkID(id) {
			t.Fatalf("%s is not in a trunk file", id)
		}
		files = append(files, file{id, c})
	}
	for _, f := range files {
		waitSlot(t, f.id, f.c, both...)
	}
	n := e.startNginx(bin, a, tr, "proxy")
	must(t, b.stop()) // nothing may come from B
	for _, f := range files {
		n.expectServed(f.id, f.c)
	}
}
