package gateway

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
)

// FuzzREST sends one HTTP/1.x request an input to the gateway's REST
// port, on a new connection closed with a reset (no TIME_WAIT): any
// method, any target (placeholders expanded, see fuzz_env_test.go, and one
// byte optionally edited), any header lines (Range, If-*, Content-Type,
// tus headers, Transfer-Encoding...), an API key chosen by key and a body
// framed as frame says. Properties:
//
//   - an answer arrives within fuzzTimeout;
//   - no 5xx (allowedServerError lists the exceptions: none is the
//     gateway's);
//   - a 4xx or 5xx with a body carries the JSON google.rpc.Status of
//     docs/api-behaviour.md (a code other than UNKNOWN and INTERNAL that
//     maps to the HTTP status as documented, a message, an ErrorInfo of
//     domain fastdfs.v1), except net/http's own refusals of requests it
//     cannot parse (netHTTPRefusal), and names no tracker or storage
//     address nor FastDFS status (fuzzEnv.leak);
//   - fuzzEnv.verify: nothing bad logged, nothing touched outside the
//     store, the tracked files and session unchanged unless the request
//     was an accepted write naming them with the read-write key and
//     preconditions that hold.
func FuzzREST(f *testing.F) {
	fe := startFuzzEnv(f)
	for _, s := range restSeeds {
		f.Add(s.method, s.target, s.hdrs, []byte(s.body), s.key, s.frame, uint16(0))
	}
	f.Fuzz(func(t *testing.T, method, target, hdrs string, body []byte, key, frame uint8, edit uint16) {
		in := restInput{method: method, target: target, hdrs: hdrs, body: body, key: key, frame: frame, edit: edit}
		raw, text, cs := fe.buildREST(in)
		detail := fmt.Sprintf("request (%d bytes):\n%s", len(raw), clip(raw, 4096))
		resp, respBody, err := rawExchange(fe.gw.HTTPAddr(), raw, oneLine(method), fuzzTimeout)
		if errors.Is(err, errBodyRefused) {
			fe.verify(t, &fuzzRequest{text: text, conds: cs, detail: detail})
			return
		}
		if err != nil {
			t.Fatalf("no answer: %v\n%s", err, detail)
		}
		detail += fmt.Sprintf("\nanswer: %s\n%s\n%s", resp.Status, headerText(resp.Header), clip(respBody, 2048))
		checkRESTAnswer(t, oneLine(method), resp, respBody, detail)
		if l := fe.leak(string(respBody), text); resp.StatusCode >= 400 && l != "" {
			t.Fatalf("the error answer holds %q\n%s", l, detail)
		}
		fe.verify(t, &fuzzRequest{text: text, conds: cs, accepted: resp.StatusCode/100 == 2, detail: detail})
	})
}

// restInput is one input of FuzzREST.
type restInput struct {
	method, target, hdrs string
	body                 []byte
	key, frame           uint8
	edit                 uint16
}

// Framings of the body (restInput.frame modulo 4; bit 2 makes the
// request HTTP/1.0).
const (
	frameLength  = iota // Content-Length: the body's length
	frameChunked        // Transfer-Encoding: chunked, two chunks
	frameNone           // no framing header, no body
	frameRaw            // the input's header lines frame the body
)

// maxPad bounds the body padded to a Content-Length the input's header
// lines declare (frameRaw): a little over the JSON routes' 1 MiB and the
// gateway's max_upload_size, so that every limit is reached.
const maxPad = 2<<20 + 16

// authHeaders are the API key header lines (restInput.key modulo 8).
var authHeaders = []string{
	"",
	"Authorization: Bearer " + roKey + "\r\n",
	"X-API-Key: " + roKey + "\r\n",
	"Authorization: Bearer " + rwKey + "\r\n",
	"X-API-Key: " + rwKey + "\r\n",
	"Authorization: Bearer not-a-configured-key-0123\r\n",
	"Authorization: Basic dXNlcjpwYXNz\r\n",
	"Authorization: Bearer \r\nX-API-Key: " + roKey + "\r\n",
}

// buildREST returns the bytes of in's request, the text the checks
// search for the IDs it names (those bytes plus the target
// percent-decoded) and its preconditions.
func (fe *fuzzEnv) buildREST(in restInput) (raw []byte, text string, cs *conds) {
	target, _ := fe.expand(in.target, in.edit, false)
	target = oneLine(target)
	hdrs, _ := fe.expand(in.hdrs, 0, true)
	body, _ := fe.expand(string(in.body), 0, true)
	var b bytes.Buffer
	proto := " HTTP/1.1\r\n"
	if in.frame&4 != 0 {
		proto = " HTTP/1.0\r\n"
	}
	b.WriteString(oneLine(in.method) + " " + target + proto + "Host: fuzz\r\n")
	b.WriteString(authHeaders[in.key%8])
	for line := range strings.SplitSeq(hdrs, "\n") {
		if line = oneLine(line); line != "" {
			b.WriteString(line + "\r\n")
		}
	}
	content := frameBody(&b, in.frame%4, hdrs, []byte(body))
	b.WriteString("Connection: close\r\n\r\n")
	b.Write(content)
	text = b.String()
	if p, err := url.PathUnescape(target); err == nil {
		text += "\n" + p
	}
	if q, err := url.QueryUnescape(target); err == nil {
		text += "\n" + q
	}
	return b.Bytes(), text, restConds(target, hdrs, content)
}

// frameBody writes the framing header of body and returns the bytes to
// send after the head.
func frameBody(b *bytes.Buffer, frame uint8, hdrs string, body []byte) []byte {
	switch frame {
	case frameLength:
		fmt.Fprintf(b, "Content-Length: %d\r\n", len(body))
	case frameChunked:
		b.WriteString("Transfer-Encoding: chunked\r\n")
		var c bytes.Buffer
		half := len(body) / 2
		for _, part := range [][]byte{body[:half], body[half:]} {
			if len(part) > 0 {
				fmt.Fprintf(&c, "%x\r\n%s\r\n", len(part), part)
			}
		}
		c.WriteString("0\r\n\r\n")
		return c.Bytes()
	case frameNone:
		return nil
	case frameRaw:
		// Pad the body to the length declared, so that the request is
		// not merely a client that stopped sending.
		if n, ok := declaredLength(hdrs); ok && n > int64(len(body)) {
			body = append(body, bytes.Repeat([]byte{'p'}, int(min(n, maxPad))-len(body))...)
		}
	}
	return body
}

// declaredLength is the one Content-Length of the header lines hdrs, if
// they declare exactly one valid one.
func declaredLength(hdrs string) (int64, bool) {
	n, count := int64(-1), 0
	for line := range strings.SplitSeq(hdrs, "\n") {
		name, v, ok := strings.Cut(oneLine(line), ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			continue
		}
		count++
		var err error
		if n, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil {
			return 0, false
		}
	}
	return n, count == 1 && n >= 0
}

// oneLine drops CR and LF: inputs must not add header lines or requests
// of their own (a second request on the connection would be answered
// after the checks ran).
func oneLine(s string) string {
	return strings.NewReplacer("\r", "", "\n", "").Replace(s)
}

// rawExchange sends raw on a new connection to addr and returns the first
// final answer (1xx skipped) with its body, read as method's answer. The
// connection is closed with a reset, so that thousands of them do not fill
// the loopback ports with TIME_WAIT. A server that answers and closes
// before reading a large body may reset the connection under the answer;
// that counts as an answer (errBodyRefused).
func rawExchange(addr string, raw []byte, method string, timeout time.Duration) (*http.Response, []byte, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	c.(*net.TCPConn).SetLinger(0)
	c.SetDeadline(time.Now().Add(timeout))
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(raw)
		werr <- err
	}()
	resp, body, err := readAnswer(bufio.NewReader(c), method)
	if err != nil {
		if we := <-werr; we != nil && len(raw) > 256<<10 && isReset(we) {
			return nil, nil, errBodyRefused
		}
		return nil, nil, err
	}
	return resp, body, nil
}

// errBodyRefused: the server stopped reading a large body and reset the
// connection, which may lose its answer.
var errBodyRefused = errors.New("the server reset the connection before reading the whole body")

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// maxAnswer bounds the body of an answer read (bytes).
const maxAnswer = 4 << 20

// readAnswer reads the first final answer of br and its body (gzip
// undone), then waits for the server to close the connection: it does
// after an answer to "Connection: close", also after logging a panic.
func readAnswer(br *bufio.Reader, method string) (*http.Response, []byte, error) {
	req := &http.Request{Method: method}
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, nil, fmt.Errorf("reading the answer: %w", err)
		}
		if resp.StatusCode >= 200 {
			body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
			if err != nil {
				return nil, nil, fmt.Errorf("reading the answer's body: %w", err)
			}
			if _, err := io.Copy(io.Discard, br); err != nil && !isReset(err) {
				return nil, nil, fmt.Errorf("waiting for the server to close: %w", err)
			}
			return resp, gunzip(resp, body), nil
		}
	}
}

// gunzip undoes Content-Encoding: gzip (the JSON answers to clients
// sending Accept-Encoding: gzip).
func gunzip(resp *http.Response, body []byte) []byte {
	if resp.Header.Get("Content-Encoding") != "gzip" {
		return body
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return body
	}
	if b, err := io.ReadAll(zr); err == nil {
		return b
	}
	return body
}

// checkRESTAnswer checks the status and error body of an answer.
func checkRESTAnswer(t *testing.T, method string, resp *http.Response, body []byte, detail string) {
	t.Helper()
	code := resp.StatusCode
	if code >= 500 && !allowedServerError(resp) {
		t.Fatalf("server error for a client's request\n%s", detail)
	}
	if code < 400 || method == http.MethodHead || netHTTPRefusal(resp) {
		return
	}
	if err := checkStatusBody(resp, body); err != nil {
		t.Fatalf("error body: %v\n%s", err, detail)
	}
}

// allowedServerError lists the 5xx a client's request may get from a
// healthy cluster: net/http answers 501 to a Transfer-Encoding it does not
// implement, before any handler runs, as RFC 9112 §6.1 says a server
// should.
func allowedServerError(resp *http.Response) bool {
	return resp.StatusCode == http.StatusNotImplemented && netHTTPRefusal(resp)
}

// netHTTPRefusal reports whether the answer is one net/http writes itself
// for a request it cannot parse (malformed request line or header, a bad
// Host or Content-Length, headers too large, an unknown transfer coding),
// before any handler runs: plain text, connection closed, and no
// X-Request-Id, which the gateway's outermost handler sets on every answer
// (and the fast path too). The API's JSON cannot be had there.
func netHTTPRefusal(resp *http.Response) bool {
	return strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") && resp.Close &&
		resp.Header.Get("X-Request-Id") == ""
}

// checkStatusBody checks an error body: the JSON google.rpc.Status of
// docs/api-behaviour.md, with a code, a message and an ErrorInfo of
// domain fastdfs.v1.
func checkStatusBody(resp *http.Response, body []byte) error {
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		return fmt.Errorf("Content-Type %q, want application/json", ct)
	}
	var st jsonStatus
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("not a JSON status: %v", err)
	}
	if st.Code <= 0 || st.Code > 16 || st.Code == 2 || st.Code == 13 || st.Message == "" {
		return fmt.Errorf("code %d, message %q", st.Code, st.Message)
	}
	if code := codes.Code(st.Code); runtime.HTTPStatusFromCode(code) != resp.StatusCode && !otherStatuses[statusCode{resp.StatusCode, code}] {
		return fmt.Errorf("HTTP status %d for code %v", resp.StatusCode, code)
	}
	for _, d := range st.Details {
		if d.Type == "type.googleapis.com/google.rpc.ErrorInfo" && d.Reason != "" && d.Domain == "fastdfs.v1" {
			return nil
		}
	}
	return errors.New("no ErrorInfo of domain fastdfs.v1")
}

// statusCode is an HTTP status with the gRPC code of its JSON status.
type statusCode struct {
	status int
	code   codes.Code
}

// otherStatuses are the pairs docs/api-behaviour.md documents besides
// grpc-gateway's mapping of codes to HTTP statuses.
var otherStatuses = map[statusCode]bool{
	{http.StatusMethodNotAllowed, codes.Unimplemented}:          true, // routing
	{http.StatusPreconditionFailed, codes.FailedPrecondition}:   true, // preconditions
	{http.StatusRequestedRangeNotSatisfiable, codes.OutOfRange}: true,
	{http.StatusRequestEntityTooLarge, codes.ResourceExhausted}: true,
	// tus: a missing Tus-Resumable (412), offset mismatch and finished
	// session (409), expired session (410), size exceeded (413), no
	// Content-Length (411), not offset+octet-stream (415), checksum
	// mismatch (460).
	{http.StatusPreconditionFailed, codes.InvalidArgument}:   true,
	{http.StatusConflict, codes.FailedPrecondition}:          true,
	{http.StatusGone, codes.NotFound}:                        true,
	{http.StatusRequestEntityTooLarge, codes.OutOfRange}:     true,
	{http.StatusLengthRequired, codes.InvalidArgument}:       true,
	{http.StatusUnsupportedMediaType, codes.InvalidArgument}: true,
	{460, codes.InvalidArgument}:                             true,
}

// clip returns b, cut to n bytes, quoted where it is not printable.
func clip(b []byte, n int) string {
	s := string(b)
	if len(s) > n {
		s = s[:n] + fmt.Sprintf("... (%d more bytes)", len(s)-n)
	}
	return strconv.QuoteToGraphic(s)
}
