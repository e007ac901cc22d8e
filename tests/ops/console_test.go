package ops

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/tests/internal/fdfsproc"
)

// chromium returns the browser to drive: $FDFS_CHROMIUM, else Debian's
// chromium on PATH ("" when there is none).
func chromium() string {
	if p := os.Getenv("FDFS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

const gatewayConf = `trackers: [%q]
grpc_listen: %s
http_listen: %s
health_interval: 1s
api_keys:
  - name: console-test
    key: %s
    mode: rw
console: true
`

// artifactDir is where a failing browser test leaves its screenshots:
// $FDFS_TEST_ARTIFACTS, else .artifacts/ at the top of the repository.
func artifactDir() string {
	if d := os.Getenv("FDFS_TEST_ARTIFACTS"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", ".artifacts")
}

// page is a headless Chromium tab on the console.
type page struct {
	t   *testing.T
	ctx context.Context
}

// eval runs a JavaScript expression in the page (awaiting a promise) and
// returns its value.
func eval[T any](p *page, js string) (T, error) {
	return chromedp.Run(p.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// waitJS polls a boolean JavaScript expression until it is true; the
// state expression says what the page shows meanwhile.
func (p *page) waitJS(what, cond, state string) {
	p.t.Helper()
	waitFor(p.t, what, func() (bool, string) {
		ok, err := eval[bool](p, cond)
		if err != nil {
			return false, err.Error()
		}
		s, _ := eval[string](p, state)
		return ok, s
	})
}

// screenshot saves the page to the artifact directory.
func (p *page) screenshot(name string) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("screenshot: %v", err)
		return
	}
	dir := artifactDir()
	path := filepath.Join(dir, name+".png")
	if err := os.MkdirAll(dir, 0o755); err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	p.t.Logf("screenshot of the console: %s", path)
}

// TestConsole drives the web console in headless Chromium against a real
// gateway, tracker and two storages: connect with an API key, see both
// storages ACTIVE, drop a file on the upload area, see it listed with a
// full progress bar, open it (info, metadata) and download it through
// the page, then stop a storage and see it go OFFLINE on the map.
func TestConsole(t *testing.T) {
	browser := chromium()
	if browser == "" {
		t.Skip("no chromium on PATH (scripts/browser-deps.sh installs Debian's); set FDFS_CHROMIUM to use another")
	}
	c := startCluster(t)
	gip := fdfsproc.FreeIP(t, gatewayPort)
	gw := net.JoinHostPort(gip, fmt.Sprint(gatewayPort))
	key := randomHex(t, 16)
	gconf := fdfsproc.WriteFile(t, filepath.Join(c.dir, "gateway", "gateway.yaml"), gatewayConf,
		c.trackerAddr, net.JoinHostPort(gip, fmt.Sprint(gatewayGRPC)), gw, key)
	gd := fdfsproc.Start(t, c.bin, c.dir, "gateway", "gateway", "--config", gconf)
	waitFor(t, "gateway healthy", func() (bool, string) {
		code, body, err := httpGet("http://" + gw + "/healthz")
		if err != nil {
			if exited, err := gd.Exited(); exited {
				t.Fatalf("gateway exited: %v", err)
			}
		}
		return code == 200, fmt.Sprintf("%d %q %v", code, body, err)
	})

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(filepath.Join(c.dir, "chromium")))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(actx)
	defer cancelTab()
	p := &page{t: t, ctx: ctx}
	defer func() {
		if t.Failed() {
			p.screenshot(t.Name())
		}
	}()
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+gw+"/console/"),
		chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.SendKeys(chromedp.ID("key"), key),
		chromedp.Click(chromedp.ID("connect"))); err != nil {
		t.Fatalf("open the console: %v", err)
	}
	rowStatus := func(ip string) string {
		return fmt.Sprintf(`((document.querySelector('tr[data-storage-ip=%q] .status') || {}).textContent || "")`, ip)
	}
	mapState := `Array.from(document.querySelectorAll("tr[data-storage-ip]")).map(r => r.dataset.storageIp + " " + r.querySelector(".status").textContent).join(", ") + " | error: " + document.getElementById("error").textContent`
	for _, ip := range c.storageIPs {
		p.waitJS("storage "+ip+" ACTIVE on the map", rowStatus(ip)+` === "ACTIVE"`, mapState)
	}

	// Drop a file on the drop zone, as a drag from the desktop does.
	content := strings.Repeat("console upload ", 20000) // 300 kB: several progress events
	drop := fmt.Sprintf(`(() => {
		const dt = new DataTransfer();
		dt.items.add(new File([%q], "hello.txt", {type: "text/plain"}));
		document.getElementById("drop").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
		return true;
	})()`, content)
	if _, err := eval[bool](p, drop); err != nil {
		t.Fatalf("drop: %v", err)
	}
	uploadState := `document.getElementById("progress").value + "% " + document.getElementById("progress-text").textContent + " | error: " + document.getElementById("error").textContent`
	p.waitJS("upload listed", `document.querySelector("#uploads li[data-file-id]") !== null && document.getElementById("progress").value === 100`, uploadState)
	id, err := eval[string](p, `document.querySelector("#uploads li[data-file-id]").dataset.fileId`)
	if err != nil {
		t.Fatal(err)
	}
	checkStored(t, c, id, content)

	// Open it from the list: info and metadata, then download through the page.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#uploads li[data-file-id] button`))); err != nil {
		t.Fatal(err)
	}
	p.waitJS("file info shown", `!document.getElementById("file").hidden && document.getElementById("info").textContent.includes(`+fmt.Sprintf("%q", id)+`)`,
		`document.getElementById("info").textContent + " | error: " + document.getElementById("error").textContent`)
	info, _ := eval[string](p, `document.getElementById("info").textContent`)
	if !strings.Contains(info, fmt.Sprintf("%d bytes", len(content))) {
		t.Errorf("file info %q does not give the size %d bytes", info, len(content))
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("download-btn"))); err != nil {
		t.Fatal(err)
	}
	p.waitJS("download link", `!document.getElementById("save").hidden`, `document.getElementById("error").textContent`)
	downloaded, err := eval[string](p, `fetch(document.getElementById("save").href).then(r => r.text())`)
	if err != nil {
		t.Fatal(err)
	}
	if downloaded != content {
		t.Errorf("downloaded through the console: %d bytes, want the %d uploaded", len(downloaded), len(content))
	}

	// A storage stops: the map shows it OFFLINE, the other stays ACTIVE.
	stop(t, c.storages[1])
	p.waitJS("stopped storage OFFLINE on the map", rowStatus(c.storageIPs[1])+` === "OFFLINE"`, mapState)
	other, _ := eval[string](p, rowStatus(c.storageIPs[0]))
	if other != "ACTIVE" {
		t.Errorf("the running storage shows %q, want ACTIVE", other)
	}
}

// checkStored reads id back with the native client: the console's upload
// reached the cluster whole.
func checkStored(t *testing.T, c *cluster, id, content string) {
	t.Helper()
	cl, err := client.New(client.Config{Trackers: []string{c.trackerAddr}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	var got bytes.Buffer
	if _, err := cl.Download(ctx, id, 0, 0, &got); err != nil || got.String() != content {
		t.Fatalf("download %s with the native client: %d bytes, %v; want the %d uploaded", id, got.Len(), err, len(content))
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
