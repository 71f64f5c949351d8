package netns

import (
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Creating a socket inside a namespace costs a trip of a locked thread into the
// namespace and back (open the namespace file, two setns(2), a goroutine to own
// the thread), far more than the socket itself. The data plane dials a target
// for every connection, so a Host keeps a few spare, unconnected sockets per
// namespace and address family: a dial takes one, and when none is left it
// creates a batch of spareBatch in one trip. Spares are made only for the
// namespaces that dial (the VPCs of load balancer nodes and health checks) and
// are closed when their namespace is removed, as they would keep it alive, and
// when the agent closes (CloseSpares).

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
	s.dropWhere(func(ns string) bool { return ns == name })
}

// CloseSpares closes the Host's spare sockets (of every namespace). Dials
// after it make new ones.
func (h *Host) CloseSpares() {
	h.spares.dropWhere(func(string) bool { return true })
}

// dropWhere closes the spare sockets of the namespaces match selects.
func (s *spares) dropWhere(match func(ns string) bool) {
	var fds []int
	s.mu.Lock()
	for key, p := range s.pools {
		if match(key.ns) {
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
		rawClose(fd)
	}
}

// socketsIn creates n non-blocking, close-on-exec TCP sockets of family inside
// the named namespace, in one trip of a locked thread. Its system calls are
// raw, like the data plane's (dataplane/rawsys.go): none of them waits, and an
// ordinary one would wake the runtime's monitor thread if the process was idle.
func socketsIn(name string, family, n int) ([]int, error) {
	host, err := hostNamespace()
	if err != nil {
		return nil, fmt.Errorf("opening the host namespace: %w", err)
	}
	ns, err := rawOpenNamespace(name)
	if err != nil {
		return nil, err
	}
	defer rawClose(ns)
	fds := make([]int, 0, n)
	err = onFreshThread(func() error {
		if err := rawSetns(ns); err != nil {
			return fmt.Errorf("entering namespace %s: %w", name, err)
		}
		var serr error
		for len(fds) < n {
			fd, _, errno := unix.RawSyscall(unix.SYS_SOCKET, uintptr(family), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
			if errno != 0 {
				serr = fmt.Errorf("socket: %w", errno)
				break
			}
			fds = append(fds, int(fd))
		}
		if err := rawSetns(int(host)); err != nil {
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

// rawOpenNamespace opens a named namespace as openNamespace does (with its
// errors), with raw system calls.
func rawOpenNamespace(name string) (int, error) {
	path, err := unix.BytePtrFromString(nsPath(name))
	if err != nil {
		return -1, err
	}
	cwd := unix.AT_FDCWD
	fd, _, errno := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(cwd), uintptr(unsafe.Pointer(path)), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
	switch {
	case errno == unix.ENOENT:
		return -1, fmt.Errorf("namespace %s does not exist", name)
	case errno != 0:
		return -1, fmt.Errorf("opening namespace %s: %w", name, errno)
	}
	var st unix.Statfs_t
	_, _, errno = unix.RawSyscall(unix.SYS_FSTATFS, fd, uintptr(unsafe.Pointer(&st)), 0)
	if errno != 0 || st.Type != nsfsMagic {
		rawClose(int(fd))
		return -1, fmt.Errorf("namespace %s does not exist", name)
	}
	return int(fd), nil
}

// rawSetns moves the calling thread into the network namespace ns.
func rawSetns(ns int) error {
	if _, _, errno := unix.RawSyscall(unix.SYS_SETNS, uintptr(ns), unix.CLONE_NEWNET, 0); errno != 0 {
		return errno
	}
	return nil
}

// rawClose closes a descriptor.
func rawClose(fd int) {
	unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

// DropSpares closes the spare sockets of a VPC's namespace, which keep it
// alive: a relay process, which does not remove namespaces itself, drops them
// when the agent is about to remove one.
func (h *Host) DropSpares(id string) { h.spares.drop(h.Namespace(id)) }
