package rest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A read of a body already at its end leaves the connection's read
// deadline alone. net/http lifts the deadline when a body ends and reads
// the connection in the background; a deadline set again by a later read
// (a multipart reader looking past its part, a check for trailing bytes)
// expired in that background read and cancelled the request as if its
// client had gone, while the handler was still waiting on the storage.
func TestBodyReaderAfterEOF(t *testing.T) {
	const timeout = 100 * time.Millisecond
	ctxErr := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := newBodyReader(w, r.Body, timeout)
		if _, err := io.Copy(io.Discard, b); err != nil {
			t.Error(err)
		}
		for range 3 {
			time.Sleep(timeout)
			if n, err := b.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Errorf("read past the end: %d, %v", n, err)
			}
		}
		time.Sleep(2 * timeout)
		ctxErr <- r.Context().Err()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	for _, body := range []io.Reader{strings.NewReader("0123456789"), io.MultiReader(strings.NewReader("0123456789"))} {
		resp, err := http.Post(srv.URL, "text/plain", body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if err := <-ctxErr; err != nil {
			t.Errorf("request context after the body's end: %v", err)
		}
	}
}
