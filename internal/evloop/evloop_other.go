//go:build !linux

package evloop

// Server is not available here.
type Server struct{}

// New returns ErrUnsupported: there is no epoll.
func New(Config) (*Server, error) { return nil, ErrUnsupported }

// Close does nothing.
func (*Server) Close() {}
