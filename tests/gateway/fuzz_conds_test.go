package gateway

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// conds are the preconditions a request sets (docs/api-behaviour.md,
// "Preconditions"): an accepted write that changed a file they do not hold
// for was not allowed to (fuzzRequest.mayChange). Values are collected
// wherever a route may read them; a value that does not parse counts as
// one that holds for no file.
type conds struct {
	ifMatch      []string // If-Match, if_match: etag lists or "*"
	expectedSize []string // expected_size: sizes in bytes
}

// holdFor reports whether the preconditions of c may hold for o, whose
// etag and size they are compared with. Leniently, as the gateway may
// read only some of the values: one If-Match value holding o's etag or
// "*" anywhere is enough, empty values set nothing.
func (c *conds) holdFor(o *tracked) bool {
	matched, set := false, false
	for _, v := range c.ifMatch {
		if strings.TrimSpace(v) != "" {
			set = true
			matched = matched || strings.Contains(v, "*") || o.etag != "" && strings.Contains(v, o.etag)
		}
	}
	if set && !matched {
		return false
	}
	for _, v := range c.expectedSize {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil || n != int64(len(o.content)) {
			return false
		}
	}
	return true
}

// restConds collects the preconditions of a REST request: the If-Match
// header lines, the query parameters and the fields of a JSON body.
func restConds(target, hdrs string, body []byte) *conds {
	c := &conds{}
	for line := range strings.SplitSeq(hdrs, "\n") {
		if name, v, ok := strings.Cut(oneLine(line), ":"); ok && strings.EqualFold(strings.TrimSpace(name), "If-Match") {
			c.ifMatch = append(c.ifMatch, v)
		}
	}
	if _, query, ok := strings.Cut(target, "?"); ok {
		q, _ := url.ParseQuery(query)
		c.add(func(name string) []string { return q[name] })
	}
	var fields map[string]any
	if json.Unmarshal(body, &fields) == nil {
		c.add(func(name string) []string {
			if v, ok := fields[name]; ok {
				return []string{strings.Trim(string(must(json.Marshal(v))), `"`)}
			}
			return nil
		})
	}
	return c
}

// add collects the values get finds under the names, proto or JSON, of
// the precondition fields.
func (c *conds) add(get func(name string) []string) {
	for _, name := range []string{"if_match", "ifMatch"} {
		c.ifMatch = append(c.ifMatch, get(name)...)
	}
	for _, name := range []string{"expected_size", "expectedSize"} {
		c.expectedSize = append(c.expectedSize, get(name)...)
	}
}

// grpcConds collects the preconditions of a gRPC call: the if_match and
// expected_size fields of its messages (at any depth: specs) and the
// metadata the REST routes' If-Match header travels as.
func grpcConds(m grpcMethod, msgs [][]byte, md metadata.MD) *conds {
	c := &conds{ifMatch: md.Get("grpcgateway-if-match")}
	for _, b := range msgs {
		msg := m.in.New()
		if proto.Unmarshal(b, msg.Interface()) == nil {
			c.addFields(msg)
		}
	}
	return c
}

func (c *conds) addFields(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Name() == "if_match":
			c.ifMatch = append(c.ifMatch, v.String())
		case fd.Name() == "expected_size":
			c.expectedSize = append(c.expectedSize, strconv.FormatInt(v.Int(), 10))
		case fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap():
			c.addFields(v.Message())
		}
		return true
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
