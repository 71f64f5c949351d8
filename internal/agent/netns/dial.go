package netns

import (
	"net/netip"
	"sync"

	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"strait/internal/dataplane"
)

// The data plane dials a target for every proxied connection, so Dial is on the
// hot path. Only the socket has to be created inside the namespace (a socket
// keeps its namespace for life): it comes from the namespace's spare sockets
// (spares.go), which a locked thread creates in batches; binding and
// connecting happen on the calling goroutine with raw system calls
// (dataplane.StartConnect), and only a handshake still in flight is waited for
// in Go's poller (dataplane.AwaitConnect), by whoever can wait. (Dialling with the
// thread inside the namespace kept that thread locked while the handshake was
// in flight: every wake-up had to hand the goroutine back to that one thread.)

// hostNamespace is this process's own network namespace, opened once; threads
// return to it after creating a socket elsewhere.
var hostNamespace = sync.OnceValues(func() (ns vnetns.NsHandle, err error) {
	// A fresh locked thread is in the host namespace: every thread that enters
	// another one is locked until it is back (inNamespace).
	err = onFreshThread(func() (err error) {
		ns, err = vnetns.Get()
		return err
	})
	return ns, err
})

// startDial takes a socket of the named namespace, binds it to from (when
// valid) and starts connecting it to `to` (dataplane.StartConnect): done
// reports whether the handshake is over. The caller owns the socket.
func (h *Host) startDial(name string, from netip.Addr, to netip.AddrPort) (fd int, done bool, err error) {
	family := unix.AF_INET
	if to.Addr().Is6() && !to.Addr().Is4In6() {
		family = unix.AF_INET6
	}
	fd, err = h.spares.take(name, family)
	if err != nil {
		return -1, false, err
	}
	done, err = dataplane.StartConnect(fd, from, to)
	if err != nil {
		unix.Close(fd)
		return -1, false, err
	}
	return fd, done, nil
}
