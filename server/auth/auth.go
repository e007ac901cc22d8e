package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
)

// Key is one configured credential.
type Key struct {
	Name   string // for logs and metrics
	Secret string // what the client sends
	Write  bool   // read-write; false = read-only
}

// Principal is the caller a request was authenticated as.
type Principal struct {
	Name  string
	Write bool
}

// Anonymous is the principal of every request when authentication is off.
var Anonymous = Principal{Name: "anonymous", Write: true}

// Access is what an operation needs.
type Access int

// The access levels, from none to most.
const (
	Public Access = iota // no key needed (health checks)
	Read                 // any valid key
	Write                // a read-write key
)

// The errors of Check. ErrNoKey and ErrUnknownKey mean 401 /
// Unauthenticated, ErrReadOnly 403 / PermissionDenied.
var (
	ErrNoKey      = errors.New("an API key is required (Authorization: Bearer <key> or X-API-Key)")
	ErrUnknownKey = errors.New("unknown API key")
	ErrReadOnly   = errors.New("this API key is read-only")
)

// Authenticator checks API keys. The zero value refuses everything; it is
// safe for concurrent use.
type Authenticator struct {
	keys     map[[sha256.Size]byte]Principal
	disabled bool
}

// New returns an Authenticator accepting keys. Names and secrets must be
// unique and secrets non-empty.
func New(keys []Key) (*Authenticator, error) {
	a := &Authenticator{keys: make(map[[sha256.Size]byte]Principal, len(keys))}
	names := make(map[string]bool, len(keys))
	for _, k := range keys {
		if k.Secret == "" || k.Name == "" {
			return nil, fmt.Errorf("api key %q: empty name or secret", k.Name)
		}
		d := sha256.Sum256([]byte(k.Secret))
		if _, dup := a.keys[d]; dup || names[k.Name] {
			return nil, fmt.Errorf("api key %q: duplicate name or secret", k.Name)
		}
		names[k.Name] = true
		a.keys[d] = Principal{Name: k.Name, Write: k.Write}
	}
	return a, nil
}

// Disabled returns an Authenticator that lets every request in as
// Anonymous (the gateway of `fdfs dev`).
func Disabled() *Authenticator { return &Authenticator{disabled: true} }

// Enabled reports whether keys are checked.
func (a *Authenticator) Enabled() bool { return !a.disabled }

// Check authenticates secret (as sent by the client, "" if none) for an
// operation needing access.
func (a *Authenticator) Check(secret string, access Access) (Principal, error) {
	if a.disabled {
		return Anonymous, nil
	}
	if secret == "" {
		if access == Public {
			return Principal{}, nil
		}
		return Principal{}, ErrNoKey
	}
	p, ok := a.keys[sha256.Sum256([]byte(secret))]
	switch {
	case !ok && access == Public:
		return Principal{}, nil
	case !ok:
		return Principal{}, ErrUnknownKey
	case access == Write && !p.Write:
		return p, ErrReadOnly
	}
	return p, nil
}

// parseAuthorization extracts the key of an "Authorization: Bearer <key>"
// value ("" if the value is not of that form).
func parseAuthorization(v string) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

type principalKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of the request ctx belongs to.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
