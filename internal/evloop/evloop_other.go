//go:build !linux

package evloop

// Server is not available here.
type Server struct{}

// New returns nil and no error: there is no epoll, and the caller serves
// the listener itself.
func New(Config) (*Server, error) { return nil, nil }

// Close does nothing.
func (*Server) Close() {}
