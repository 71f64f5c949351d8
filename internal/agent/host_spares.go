package agent

import (
	"fmt"
	"sync"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Creating a socket inside a namespace costs a trip of a locked thread into the
// namespace and back (open the namespace file, two setns(2), a goroutine to own
// the thread), far more than the socket itself. The data plane dials a target
// for every connection, so a Host keeps a few spare, unconnected sockets per
// namespace and address family: a dial takes one, and when none is left it
// creates a batch of spareBatch in one trip. Spares are made only for the
// namespaces that dial (the VPCs of load balancer nodes and health checks) and
// are closed when their namespace is removed, as they would keep it alive.

// spareBatch is how many sockets one trip into a namespace creates.
const spareBatch = 16

// spares are the spare sockets of a Host.
type spares struct {
	mu    sync.Mutex
	pools map[spareKey]*sparePool
}

type spareKey struct {
	ns     string
	family int
}

// sparePool is one namespace's and family's spare sockets; a pool removed from
// the map (drop) is never used again.
type sparePool struct{ fds []int }

// take returns a new non-blocking, close-on-exec TCP socket of family inside
// the named namespace, which the caller owns.
func (s *spares) take(name string, family int) (int, error) {
	key := spareKey{name, family}
	s.mu.Lock()
	p := s.pools[key]
	if p != nil && len(p.fds) > 0 {
		fd := p.fds[len(p.fds)-1]
		p.fds = p.fds[:len(p.fds)-1]
		s.mu.Unlock()
		return fd, nil
	}
	if p == nil {
		p = &sparePool{}
		if s.pools == nil {
			s.pools = map[spareKey]*sparePool{}
		}
		s.pools[key] = p
	}
	s.mu.Unlock()
	fds, err := socketsIn(name, family, spareBatch)
	if err != nil {
		return -1, err
	}
	fd, rest := fds[0], fds[1:]
	s.mu.Lock()
	if s.pools[key] == p {
		p.fds = append(p.fds, rest...)
		rest = nil
	}
	s.mu.Unlock()
	closeAll(rest) // the namespace was removed meanwhile
	return fd, nil
}

// drop closes the spare sockets of the named namespace.
func (s *spares) drop(name string) {
	var fds []int
	s.mu.Lock()
	for key, p := range s.pools {
		if key.ns == name {
			fds = append(fds, p.fds...)
			delete(s.pools, key)
		}
	}
	s.mu.Unlock()
	closeAll(fds)
}

// closeAll closes descriptors.
func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// socketsIn creates n non-blocking, close-on-exec TCP sockets of family inside
// the named namespace, in one trip of a locked thread.
func socketsIn(name string, family, n int) ([]int, error) {
	host, err := hostNamespace()
	if err != nil {
		return nil, fmt.Errorf("opening the host namespace: %w", err)
	}
	ns, err := openNamespace(name)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	fds := make([]int, 0, n)
	err = onFreshThread(func() error {
		if err := netns.Set(ns); err != nil {
			return fmt.Errorf("entering namespace %s: %w", name, err)
		}
		var serr error
		for len(fds) < n {
			fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
			if err != nil {
				serr = fmt.Errorf("socket: %w", err)
				break
			}
			fds = append(fds, fd)
		}
		if err := netns.Set(host); err != nil {
			closeAll(fds)
			fds = nil
			return errThreadTainted{err}
		}
		if len(fds) > 0 {
			return nil // out of descriptors after the first: fewer spares
		}
		return serr
	})
	if err != nil {
		return nil, err
	}
	return fds, nil
}
