package prebind

import (
	"errors"
	"net"
	"sync"
)

var (
	mu   sync.Mutex
	held = map[string]net.Listener{} // by the address string Bind was given
)

// Bind binds every addr ("host:port", TCP) now and keeps the listeners
// for Listen. On an error the ones bound by this call are closed.
func Bind(addrs ...string) error {
	mu.Lock()
	defer mu.Unlock()
	var bound []string
	for _, a := range addrs {
		if _, ok := held[a]; ok {
			continue
		}
		ln, err := net.Listen("tcp", a)
		if err != nil {
			for _, b := range bound {
				held[b].Close()
				delete(held, b)
			}
			return err
		}
		held[a] = ln
		bound = append(bound, a)
	}
	return nil
}

// Listen returns the listener Bind kept for addr, handing it over (a
// second Listen of addr binds anew), or binds addr now when none was kept.
func Listen(addr string) (net.Listener, error) {
	mu.Lock()
	ln, ok := held[addr]
	delete(held, addr)
	mu.Unlock()
	if ok {
		return ln, nil
	}
	return net.Listen("tcp", addr)
}

// Close closes the listeners bound and never taken.
func Close() error {
	mu.Lock()
	defer mu.Unlock()
	var errs []error
	for a, ln := range held {
		errs = append(errs, ln.Close())
		delete(held, a)
	}
	return errors.Join(errs...)
}
