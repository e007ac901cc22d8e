//go:build linux

package evloop

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	// scratchSize is each loop's read buffer: a read takes every request
	// a connection has pipelined up to this much (bytes).
	scratchSize = 64 << 10
	// maxInline bounds the body of an inline request whatever the
	// Handler says (bytes): the loop buffers it whole.
	maxInline = 64 << 10
	// sweepEvery is how often idle connections are looked for, and how
	// long a paused accept waits.
	sweepEvery = time.Second
	// acceptTries bounds the accepts one wake of the listener makes when
	// they fail with ECONNABORTED (a client gone before it was accepted)
	// or EINTR.
	acceptTries = 8
	// yieldEvery is how often a busy loop passes through the scheduler
	// (runtime.Gosched). A goroutine that only makes system calls never
	// does: after 10 ms Go's sysmon preempts it with a signal, and each
	// preemption sets sysmon polling again every 20 µs, a timer wake-up
	// and two context switches each time: 3,000 a second per daemon
	// under test_download. Not much more often than that 10 ms: each
	// Gosched wakes an idle thread to look for work (runtime.wakep, a
	// futex wake and its sleep again), at 2 ms 0.4 futex calls per query
	// of a client sending one query at a time.
	yieldEvery = 8 * time.Millisecond
)

// Server is a set of loops sharing one listening socket.
type Server struct {
	cfg     Config
	lfd     int
	loops   []*loop
	closing atomic.Bool
	wg      sync.WaitGroup
	once    sync.Once
}

// New takes cfg.Listener over and starts the loops serving it. It returns
// nil and no error where there is no epoll, or with FDFS_EVLOOP=off
// (EnvOff): the caller then serves the listener itself.
func New(cfg Config) (*Server, error) {
	if os.Getenv(EnvOff) == "off" {
		return nil, nil
	}
	lfd, err := dupListener(cfg.Listener)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, lfd: lfd}
	for range loopCount(cfg.WorkThreads, runtime.GOMAXPROCS(0)) {
		l, err := s.newLoop()
		if err != nil {
			s.closeLoops()
			unix.Close(lfd)
			return nil, err
		}
		s.loops = append(s.loops, l)
	}
	s.wg.Add(len(s.loops))
	for _, l := range s.loops {
		go l.run()
	}
	return s, nil
}

// dupListener returns a non-blocking duplicate of ln's socket and closes
// ln, so the socket is in no epoll set but the loops'.
func dupListener(ln *net.TCPListener) (int, error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	cerr := rc.Control(func(s uintptr) {
		fd, err = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	})
	if cerr != nil {
		return -1, cerr
	}
	if err != nil {
		return -1, fmt.Errorf("evloop: dup listener: %w", err)
	}
	ln.Close()
	return fd, nil
}

// Close stops accepting, closes every connection the loops hold (each
// after the request it is serving, if any) and waits for the loops.
// Detached connections are the Handler's.
func (s *Server) Close() {
	s.once.Do(func() {
		s.closing.Store(true)
		// Refuse new connections now, not once the loops are done: the
		// descriptor stays open (no other file can take its number while
		// a loop may still accept on it) but the socket stops listening.
		unix.Shutdown(s.lfd, unix.SHUT_RDWR)
		for _, l := range s.loops {
			unix.Write(l.wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
		}
		s.wg.Wait()
		s.closeLoops()
		unix.Close(s.lfd)
	})
}

func (s *Server) closeLoops() {
	for _, l := range s.loops {
		if l.ep != nil {
			l.ep.Close()
		}
		unix.Close(l.epfd)
		unix.Close(l.wake)
	}
}

// loop is one goroutine's epoll set and the connections in it.
type loop struct {
	s    *Server
	epfd int
	wake int // eventfd written by Close
	// With Config.Park: ep is a duplicate of epfd in Go's netpoller; poll
	// takes the ready events without waiting (their count and error in
	// waitN and waitErr); deadline is ep's read deadline, the next sweep.
	ep       *os.File
	epRC     syscall.RawConn
	poll     func(uintptr) bool
	waitN    int
	waitErr  error
	deadline time.Time
	conns    map[int]*Conn
	scratch  []byte
	events   []unix.EpollEvent
	paused   bool      // the listener is out of the set after an accept error
	now      time.Time // when epoll_wait last returned
	yielded  time.Time // last runtime.Gosched
	lastScan time.Time
}

func (s *Server) newLoop() (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("evloop: epoll_create: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("evloop: eventfd: %w", err)
	}
	l := &loop{s: s, epfd: epfd, wake: wake, conns: map[int]*Conn{},
		scratch: make([]byte, scratchSize), events: make([]unix.EpollEvent, 128), lastScan: time.Now()}
	if err := l.setup(); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, err
	}
	return l, nil
}

// setup puts the wake-up eventfd and the listener in the set and, with
// Config.Park, a duplicate of the set's descriptor in Go's netpoller (an
// epoll descriptor is readable while events are ready in it), where wait
// parks.
func (l *loop) setup() error {
	if err := l.ctl(unix.EPOLL_CTL_ADD, l.wake, unix.EPOLLIN); err != nil {
		return err
	}
	if err := l.watchListener(); err != nil {
		return err
	}
	if !l.s.cfg.Park {
		return nil
	}
	fd, err := unix.FcntlInt(uintptr(l.epfd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("evloop: dup epoll set: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return fmt.Errorf("evloop: epoll set non-blocking: %w", err)
	}
	l.ep = os.NewFile(uintptr(fd), "epoll")
	if l.epRC, err = l.ep.SyscallConn(); err != nil {
		l.ep.Close()
		return fmt.Errorf("evloop: epoll set in the netpoller: %w", err)
	}
	l.poll = func(fd uintptr) bool {
		l.waitN, l.waitErr = unix.EpollWait(int(fd), l.events, 0)
		return l.waitN != 0 || l.waitErr != nil
	}
	return nil
}

// wait returns the connections' next events, or none when the next
// sweep is due: blocked in epoll_wait, or with Config.Park, at once when
// some are ready, else parked in Go's netpoller until some are (Read
// calls poll before it parks, and again after each wake).
func (l *loop) wait() (int, error) {
	if !l.s.cfg.Park {
		return unix.EpollWait(l.epfd, l.events, int(sweepEvery/time.Millisecond))
	}
	if due := l.lastScan.Add(sweepEvery); !due.Equal(l.deadline) {
		l.deadline = due
		l.ep.SetReadDeadline(due)
	}
	switch err := l.epRC.Read(l.poll); {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, nil
	case err != nil:
		return 0, err
	}
	return l.waitN, l.waitErr
}

// watchListener adds the listening socket; EPOLLEXCLUSIVE wakes one loop
// per connection instead of all of them.
func (l *loop) watchListener() error {
	return l.ctl(unix.EPOLL_CTL_ADD, l.s.lfd, unix.EPOLLIN|unix.EPOLLEXCLUSIVE)
}

func (l *loop) ctl(op, fd int, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	if err := unix.EpollCtl(l.epfd, op, fd, &ev); err != nil {
		return fmt.Errorf("evloop: epoll_ctl(%d, fd %d): %w", op, fd, err)
	}
	return nil
}

func (l *loop) run() {
	defer l.s.wg.Done()
	for {
		n, err := l.wait()
		if err != nil && !errors.Is(err, unix.EINTR) {
			l.s.cfg.Log.Error("epoll_wait failed, loop stops", "err", err)
			l.closeAll()
			return
		}
		if l.s.closing.Load() {
			l.closeAll()
			return
		}
		now := time.Now()
		l.now = now
		for _, ev := range l.events[:max(n, 0)] {
			switch fd := int(ev.Fd); fd {
			case l.s.lfd:
				l.accept(now)
			case l.wake:
			default:
				if c := l.conns[fd]; c != nil {
					l.event(c, ev.Events)
				}
			}
		}
		if now.Sub(l.lastScan) >= sweepEvery {
			l.sweep(now)
		}
		if now.Sub(l.yielded) >= yieldEvery {
			l.yielded = now
			runtime.Gosched()
		}
	}
}

// accept takes one connection per wake of the listener. The listener is
// level-triggered: while more connections are queued the next wait
// reports it again, along with the requests of the others, so a burst of
// connects starves no request, and a connection that came alone costs no
// second accept finding the queue empty (a client with a connection per
// request, the C client library's and PHP's default, makes one per
// request).
func (l *loop) accept(now time.Time) {
	for range acceptTries {
		fd, remote, err := accept4(l.s.lfd)
		switch {
		case errors.Is(err, unix.EAGAIN):
			return // another loop took it
		case errors.Is(err, unix.ECONNABORTED), errors.Is(err, unix.EINTR):
			continue
		case err != nil && l.s.closing.Load():
			return // Close shut the listener down
		case err != nil:
			// Out of descriptors or memory: level-triggered, the listener
			// would wake this loop at once again. Leave it out of the set
			// until the next sweep.
			l.s.cfg.Log.Error("accept failed", "err", err, "retry_in", sweepEvery)
			if l.ctl(unix.EPOLL_CTL_DEL, l.s.lfd, 0) == nil {
				l.paused = true
			}
			return
		}
		l.open(fd, remote, now)
		return
	}
}

// open sets up an accepted connection and adds it to the loop's set,
// unless the Handler refuses it.
func (l *loop) open(fd int, remote *net.TCPAddr, now time.Time) {
	// As Go's own listener does for its connections.
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
	c := &Conn{fd: fd, remote: remote, seen: now}
	if !l.s.cfg.Handler.Open(c) {
		unix.Close(fd)
		return
	}
	if err := l.ctl(unix.EPOLL_CTL_ADD, fd, unix.EPOLLIN); err != nil {
		l.s.cfg.Log.Error("accept failed", "err", err)
		unix.Close(fd)
		c.closed = true
		l.s.cfg.Handler.Closed(c)
		return
	}
	l.conns[fd] = c
}

// accept4 accepts a non-blocking connection on lfd and decodes the peer's
// address itself: x/sys's Accept4 asks the listener for its protocol (a
// getsockopt) on every call to tell L2TP from TCP, which cannot be here.
func accept4(lfd int) (int, *net.TCPAddr, error) {
	var rsa unix.RawSockaddrAny
	n := uint32(unix.SizeofSockaddrAny)
	fd, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&rsa)),
		uintptr(unsafe.Pointer(&n)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if errno != 0 {
		return -1, nil, errno
	}
	return int(fd), tcpAddr(&rsa), nil
}

// tcpAddr decodes an IPv4 or IPv6 socket address; the port is in network
// byte order.
func tcpAddr(rsa *unix.RawSockaddrAny) *net.TCPAddr {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		a := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return &net.TCPAddr{IP: net.IPv4(a.Addr[0], a.Addr[1], a.Addr[2], a.Addr[3]), Port: netPort(a.Port)}
	case unix.AF_INET6:
		a := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		return &net.TCPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: netPort(a.Port)}
	}
	return &net.TCPAddr{}
}

// netPort reads a port kept in network byte order.
func netPort(p uint16) int {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return int(b[0])<<8 | int(b[1])
}

// sweep closes the connections idle longer than Config.Idle and puts a
// paused listener back.
func (l *loop) sweep(now time.Time) {
	l.lastScan = now
	if l.paused && l.watchListener() == nil {
		l.paused = false
	}
	if l.s.cfg.Idle <= 0 {
		return
	}
	for _, c := range l.conns {
		if now.Sub(c.seen) > l.s.cfg.Idle {
			l.close(c)
		}
	}
}

func (l *loop) closeAll() {
	for _, c := range l.conns {
		l.close(c)
	}
}

func (l *loop) close(c *Conn) {
	if c.closed {
		return
	}
	c.closed = true
	delete(l.conns, c.fd)
	unix.Close(c.fd) // leaves the epoll set with its last descriptor
	l.s.cfg.Handler.Closed(c)
}
