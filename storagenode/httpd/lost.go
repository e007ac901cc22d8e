package httpd

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
)

// A file this server's disk cannot give (Config.Lost) is asked of the
// group's other storages in turn: the next one when a peer is
// unreachable, answers 404 (it lacks the file too) or a 5xx (its own
// disk), as the native protocol's lost reads do. In proxy mode the peer
// that has it answers the client, or the last one does. Redirect mode
// asks each peer with a HEAD request (its answer is not the client's) and
// sends the client to the first that has the file; a client sent to the
// first peer whatever its state got a 404 or a dead address for a file
// the group holds.

// lostAttempt is one peer asked for a lost file, carried in the proxied
// request's context to the proxy's hooks.
type lostAttempt struct {
	last bool // the last peer: its answer is the client's
	// failed says that a peer before could not be reached: a 404 from
	// the last one then does not say the file is gone from the group.
	failed bool
	passed bool // the peer's answer was not sent: ask the next one
}

type lostAttemptKey struct{}

// errAskNext is peerAnswered's refusal of an answer that the next peer
// may better.
var errAskNext = errors.New("peer answered an error status; asking the next")

// lost reports whether err says this server's disk cannot give file n,
// and the storages to ask: none for a request a peer forwarded, which
// would go round.
func (h *Handler) lost(r *http.Request, n *fileid.Name, err error) ([]string, bool) {
	if h.cfg.Lost == nil {
		return nil, false
	}
	peers, lost := h.cfg.Lost(n, err)
	if r.Header.Get(proxiedHeader) != "" {
		peers = nil
	}
	return peers, lost
}

// forwardLost answers a request for a lost file from peers (503 when there
// are none, or none could be reached).
func (h *Handler) forwardLost(w http.ResponseWriter, r *http.Request, peers []string) {
	if len(peers) == 0 {
		http.Error(w, "the file's disk cannot be read now", http.StatusServiceUnavailable)
		return
	}
	if h.cfg.ResponseMode == "redirect" {
		h.redirectLost(w, r, peers)
		return
	}
	failed := false
	for i, addr := range peers {
		at := &lostAttempt{last: i == len(peers)-1, failed: failed}
		h.forward(w, r.WithContext(context.WithValue(r.Context(), lostAttemptKey{}, at)), addr)
		if !at.passed {
			return
		}
		failed = failed || at.failed
	}
}

// peerAnswered is the proxy's ModifyResponse: it counts a lost file's
// peer's answer and passes over a 404 or a 5xx but from the last peer
// (whose 404 becomes a 503 when a peer before could not be reached).
func (h *Handler) peerAnswered(resp *http.Response) error {
	at, ok := resp.Request.Context().Value(lostAttemptKey{}).(*lostAttempt)
	if !ok {
		return nil
	}
	if resp.StatusCode < 400 || resp.StatusCode == http.StatusRequestedRangeNotSatisfiable {
		h.lostAsked("ok")
		return nil
	}
	h.lostAsked("refused")
	switch {
	case resp.StatusCode != http.StatusNotFound && resp.StatusCode < 500:
		return nil // a bad request is bad at every peer
	case at.last && (resp.StatusCode != http.StatusNotFound || !at.failed):
		return nil
	}
	return errAskNext
}

// peerFailed is the proxy's ErrorHandler for a lost file's peer: a peer
// passed over is not answered from; the last one unreachable is a 503.
// False for any other proxied request.
func (h *Handler) peerFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	at, ok := r.Context().Value(lostAttemptKey{}).(*lostAttempt)
	if !ok {
		return false
	}
	if !errors.Is(err, errAskNext) {
		at.failed = true
		h.lostAsked("failed")
		h.cfg.Log.Warn("http: a peer asked for a lost file failed", "url", r.URL.String(), "err", err)
	}
	if !at.last {
		at.passed = true
		return true
	}
	http.Error(w, "the file's disk cannot be read now and no peer answered", http.StatusServiceUnavailable)
	return true
}

func (h *Handler) lostAsked(result string) {
	if h.cfg.LostAsked != nil {
		h.cfg.LostAsked(result)
	}
}

// peerCheckTimeout bounds redirect mode's HEAD request to one peer: the
// client waits for every peer that does not answer.
const peerCheckTimeout = 5 * time.Second

// redirectLost sends the client to the first peer that answers a HEAD
// request for the file with a success, or with a client error other than
// 404 (a bad token is bad there too: the client sees its answer). None:
// 404 when every peer answered 404, else 503.
func (h *Handler) redirectLost(w http.ResponseWriter, r *http.Request, peers []string) {
	allLack := true
	for _, addr := range peers {
		code, err := h.headAt(r, addr)
		switch {
		case err != nil:
			allLack = false
			h.lostAsked("failed")
			h.cfg.Log.Warn("http: a peer asked for a lost file failed", "peer", addr, "path", r.URL.Path, "err", err)
			continue
		case code < 400 || code != http.StatusNotFound && code < 500:
			h.lostAsked("ok")
			h.forward(w, r, addr)
			return
		}
		h.lostAsked("refused")
		allLack = allLack && code == http.StatusNotFound
	}
	if allLack {
		http.NotFound(w, r)
		return
	}
	http.Error(w, "the file's disk cannot be read now and no peer has it", http.StatusServiceUnavailable)
}

// headAt asks the storage at addr for r's file with a HEAD request marked
// as a peer's (so that it does not forward it in turn), r's query (its
// token) included, and returns the status.
func (h *Handler) headAt(r *http.Request, addr string) (int, error) {
	ctx, cancel := context.WithTimeout(r.Context(), peerCheckTimeout)
	defer cancel()
	u := &url.URL{Scheme: "http", Host: addr, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.String(), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set(proxiedHeader, "1")
	resp, err := peerClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// peerClient makes redirect mode's HEAD requests; a peer's redirect is
// its answer, not followed.
var peerClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
