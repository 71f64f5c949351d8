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
	"golang.org/x/sys/unix"
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

// setNS switches this thread to ns; a closed handle leaves it where it is
// (for fn that switch it themselves).
func setNS(ns vnetns.NsHandle) error {
	if !ns.IsOpen() {
		return nil
	}
	return vnetns.Set(ns)
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
		if err := setNS(ns); err != nil {
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

// endpointNSName is the namespace of a tag's encrypted backbone endpoint: it
// holds the TUN device and the VXLAN devices' UDP socket, and nothing on the
// underlay reaches it but what WireGuard lets through. Its name has the
// server's tag, so netns.Down removes it with the others.
func endpointNSName(tag string) string { return "strait-" + tag + "-backbone" }

// ensureEndpointNS opens the tag's endpoint namespace, creating it if needed.
func ensureEndpointNS(tag string) (vnetns.NsHandle, error) {
	name := endpointNSName(tag)
	if ns, err := openNS(name); err == nil {
		return ns, nil
	}
	var ns vnetns.NsHandle
	err := runIn(vnetns.None(), func() error {
		var err error
		ns, err = vnetns.NewNamed(name) // switches this thread; runIn switches it back
		return err
	})
	if err != nil {
		return vnetns.None(), fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return ns, nil
}

// removeEndpointNS removes the tag's endpoint namespace if it exists.
func removeEndpointNS(tag string) error {
	p := filepath.Join("/run/netns", endpointNSName(tag))
	err := unix.Unmount(p, unix.MNT_DETACH)
	if err == nil || errors.Is(err, unix.EINVAL) { // EINVAL: a file left without its mount
		err = os.Remove(p)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing namespace %s: %w", endpointNSName(tag), err)
	}
	return nil
}

// withHandleIn runs fn with a netlink handle in namespace ns.
func withHandleIn(ns vnetns.NsHandle, fn func(*netlink.Handle) error) error {
	nh, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer nh.Close()
	return fn(nh)
}

// removeLink deletes the named link of a namespace if it is there.
func removeLink(nh *netlink.Handle, name string) error {
	l, err := nh.LinkByName(name)
	if errors.As(err, new(netlink.LinkNotFoundError)) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := nh.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("removing %s: %w", name, err)
	}
	return nil
}
