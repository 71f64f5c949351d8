package backbone

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
)

// errNoNamespace is returned for a named namespace that does not exist.
var errNoNamespace = errors.New("no such namespace")

// openNS opens a named network namespace (as `ip netns` names them), or the
// process's own for "".
func openNS(name string) (vnetns.NsHandle, error) {
	if name == "" {
		ns, err := vnetns.GetFromPid(os.Getpid())
		if err != nil {
			return vnetns.None(), fmt.Errorf("opening this process's network namespace: %w", err)
		}
		return ns, nil
	}
	ns, err := vnetns.GetFromPath(filepath.Join("/run/netns", name))
	if errors.Is(err, fs.ErrNotExist) {
		return vnetns.None(), fmt.Errorf("network namespace %s: %w", name, errNoNamespace)
	}
	if err != nil {
		return vnetns.None(), fmt.Errorf("opening network namespace %s: %w", name, err)
	}
	return ns, nil
}

// withLinks runs fn with a netlink handle in the named namespace.
func withLinks(name string, fn func(vnetns.NsHandle, *netlink.Handle) error) error {
	ns, err := openNS(name)
	if err != nil {
		return err
	}
	defer ns.Close()
	nh, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", name, err)
	}
	defer nh.Close()
	return fn(ns, nh)
}

// runIn runs fn on an OS thread inside namespace ns, so that the sockets and
// devices it creates belong there, and waits for it. A thread that cannot
// switch back stays locked, so the runtime ends it rather than reuse it.
func runIn(ns vnetns.NsHandle, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := vnetns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		defer orig.Close()
		if err := vnetns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("entering the host namespace: %w", err)
			return
		}
		ferr := fn()
		if err := vnetns.Set(orig); err != nil {
			done <- fmt.Errorf("leaving the host namespace: %w", err) // the thread stays locked and dies
			return
		}
		runtime.UnlockOSThread()
		done <- ferr
	}()
	return <-done
}
