package httpfast

import (
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Request is a request head the parser accepted: GET or HEAD, HTTP/1.1 or
// HTTP/1.0, origin-form target, no body. Its strings point into the head
// and are valid until the Answerer returns.
type Request struct {
	Method    string // "GET" or "HEAD"
	Target    string // the request target as sent, e.g. "/a/b?x=1"
	Path      string // the target's path, unescaped
	RawQuery  string // the target's query without '?'
	Proto     string // "HTTP/1.1" or "HTTP/1.0"
	KeepAlive bool   // the client keeps the connection open after the response

	fields []field // in order of arrival; reused from request to request
}

type field struct{ name, value string }

// Header returns the value of the first header field called name (case
// insensitive), "" if there is none, as http.Header.Get does.
func (r *Request) Header(name string) string {
	for _, f := range r.fields {
		if strings.EqualFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

// Has reports whether the request has a header field called name.
func (r *Request) Has(name string) bool {
	for _, f := range r.fields {
		if strings.EqualFold(f.name, name) {
			return true
		}
	}
	return false
}

// Fields yields every header field, name as sent and value trimmed, in
// order of arrival.
func (r *Request) Fields() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, f := range r.fields {
			if !yield(f.name, f.value) {
				return
			}
		}
	}
}

// AppendStatusLine appends the status line net/http would send for code:
// HTTP/1.0 answers an HTTP/1.0 request.
func (r *Request) AppendStatusLine(out []byte, code int) []byte {
	out = append(out, r.Proto...)
	out = append(out, ' ')
	out = strconv.AppendInt(out, int64(code), 10)
	out = append(out, ' ')
	if text := http.StatusText(code); text != "" {
		out = append(out, text...)
	} else {
		out = append(out, "status code "...)
		out = strconv.AppendInt(out, int64(code), 10)
	}
	return append(out, "\r\n"...)
}

// AppendHeadEnd appends what net/http adds after a handler's header
// fields — Date, then the Connection field its keep-alive rules call for —
// and the blank line that ends the head.
func (r *Request) AppendHeadEnd(out []byte) []byte {
	out = append(out, "Date: "...)
	out = append(out, date()...)
	out = append(out, "\r\n"...)
	switch {
	case r.Proto == "HTTP/1.0" && r.KeepAlive:
		out = append(out, "Connection: keep-alive\r\n"...)
	case r.Proto == "HTTP/1.1" && !r.KeepAlive:
		out = append(out, "Connection: close\r\n"...)
	}
	return append(out, "\r\n"...)
}

// splitRequestLine splits a request line into method, target and
// version. Runs of SP separate them as well as one: RFC 9112 section 3
// lets a recipient parse the line on whitespace boundaries, nginx does,
// and fastdfs-nginx-module's proxy writes "GET /path?redirect=1  HTTP/1.0"
// (two spaces) when it sends a request for a file not replicated to its
// host yet to the file's source storage. net/http refuses that line (400).
func splitRequestLine(line string) (method, target, proto string, ok bool) {
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(strings.TrimLeft(rest, " "), " ")
	return method, target, strings.TrimLeft(proto, " "), ok1 && ok2
}

// parse parses a request head (through its blank line) into r. It returns
// false for anything the fast path leaves to net/http, including every
// request net/http would refuse but for the runs of SP splitRequestLine
// accepts.
func (r *Request) parse(head string) bool {
	*r = Request{fields: r.fields[:0]}
	if strings.Count(head, "\n") != strings.Count(head, "\r\n") {
		return false // bare LF line ends: net/http judges
	}
	line, rest, _ := strings.Cut(head, "\r\n")
	method, target, proto, ok := splitRequestLine(line)
	if !ok {
		return false
	}
	switch method {
	case http.MethodGet, http.MethodHead:
	default:
		return false
	}
	switch proto {
	case "HTTP/1.1":
		r.KeepAlive = true
	case "HTTP/1.0":
	default:
		return false
	}
	r.Method, r.Proto, r.Target = method, proto, target
	if target == "" || target[0] != '/' {
		return false
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return false
	}
	r.Path, r.RawQuery = u.Path, u.RawQuery

	facts, ok := r.parseFields(rest)
	if !ok {
		return false
	}
	// net/http requires exactly one Host field from HTTP/1.1 and at most
	// one from HTTP/1.0.
	if facts.hosts > 1 || facts.hosts == 0 && proto == "HTTP/1.1" {
		return false
	}
	if proto == "HTTP/1.0" {
		r.KeepAlive = facts.keepAliveAsked
	}
	if facts.closeAsked {
		r.KeepAlive = false
	}
	return true
}

// fieldFacts is what parse learns from the header fields besides the
// fields themselves.
type fieldFacts struct {
	hosts          int  // Host fields seen
	closeAsked     bool // a Connection field has the "close" token
	keepAliveAsked bool // a Connection field has the "keep-alive" token
}

// parseFields parses the header fields in rest (the head after the request
// line) into r.fields, up to the blank line. It returns false for a field
// the fast path leaves to net/http.
func (r *Request) parseFields(rest string) (fieldFacts, bool) {
	var facts fieldFacts
	for rest != "" {
		var l string
		l, rest, _ = strings.Cut(rest, "\r\n")
		if l == "" {
			break
		}
		if l[0] == ' ' || l[0] == '\t' {
			return facts, false // obsolete line folding
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok || !validName(name) {
			return facts, false
		}
		value = strings.Trim(value, " \t")
		if !validValue(value) {
			return facts, false
		}
		r.fields = append(r.fields, field{name, value})
		switch {
		case strings.EqualFold(name, "Host"):
			facts.hosts++
			if !validHost(value) {
				return facts, false
			}
		case strings.EqualFold(name, "Content-Length"):
			if value != "0" {
				return facts, false // a body
			}
		case strings.EqualFold(name, "Connection"):
			for tok := range strings.SplitSeq(value, ",") {
				tok = strings.Trim(tok, " \t")
				facts.closeAsked = facts.closeAsked || strings.EqualFold(tok, "close")
				facts.keepAliveAsked = facts.keepAliveAsked || strings.EqualFold(tok, "keep-alive")
			}
		case strings.EqualFold(name, "Transfer-Encoding"), strings.EqualFold(name, "Expect"),
			strings.EqualFold(name, "Upgrade"):
			return facts, false
		}
	}
	return facts, true
}

// validName reports whether s is a field name (an RFC 9110 token).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// validValue reports whether s is a field value net/http accepts: no
// control bytes other than HTAB.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// validHost accepts the bytes net/http accepts in a Host field.
func validHost(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!$%&'()*+,-.:;=[]_~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// date returns the Date field's value for now, formatted once per second.
func date() string {
	now := time.Now().Unix()
	if d := cachedDate.Load(); d != nil && d.unix == now {
		return d.text
	}
	d := &dateText{unix: now, text: time.Unix(now, 0).UTC().Format(http.TimeFormat)}
	cachedDate.Store(d)
	return d.text
}

type dateText struct {
	unix int64
	text string
}

var cachedDate atomic.Pointer[dateText]
