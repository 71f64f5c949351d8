package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Where named namespaces live (as with `ip netns`) and their per-namespace files
// (`ip netns exec` bind-mounts /etc/netns/<name>/* over /etc/*).
const (
	netnsRunDir = "/run/netns"
	netnsEtcDir = "/etc/netns"
)

// nsfsMagic is the file system type of namespace files (linux/magic.h NSFS_MAGIC).
const nsfsMagic = 0x6e736673

// nsPath is the file of a named namespace.
func nsPath(name string) string { return filepath.Join(netnsRunDir, name) }

// nsExists reports whether name is a live named namespace (a namespace file
// mounted at /run/netns/<name>).
func nsExists(name string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(nsPath(name), &st); err != nil {
		return false
	}
	return st.Type == nsfsMagic
}

// listNamespaces lists the named namespaces (and leftover files in /run/netns)
// whose names start with prefix, sorted.
func listNamespaces(prefix string) ([]string, error) {
	entries, err := os.ReadDir(netnsRunDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// ensureNamespace creates the named namespace unless it exists; created reports
// whether it did. A leftover file that is not a namespace is replaced.
func ensureNamespace(name string) (created bool, err error) {
	if nsExists(name) {
		return false, nil
	}
	if err := prepareRunDir(); err != nil {
		return false, err
	}
	// A file left by a crash between creating and mounting it: not a namespace.
	if err := os.Remove(nsPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("removing stale %s: %w", nsPath(name), err)
	}
	err = onFreshThread(func() error {
		orig, err := vnetns.Get()
		if err != nil {
			return err
		}
		defer orig.Close()
		ns, err := vnetns.NewNamed(name) // switches this thread into the new namespace
		if err != nil {
			if nerr := vnetns.Set(orig); nerr != nil {
				return errThreadTainted{nerr}
			}
			os.Remove(nsPath(name))
			return err
		}
		ns.Close()
		if err := vnetns.Set(orig); err != nil {
			return errThreadTainted{err}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return true, nil
}

// prepareRunDir makes /run/netns a mount point with shared propagation, as
// `ip netns add` does, so that a namespace deleted here is also unmounted in the
// private mount namespaces of programs started with `ip netns exec` (otherwise
// their copies of the mount would keep it alive).
func prepareRunDir() error {
	if err := os.MkdirAll(netnsRunDir, 0o755); err != nil {
		return err
	}
	err := unix.Mount("", netnsRunDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("making %s shared: %w", netnsRunDir, err)
	}
	// Not a mount point yet: bind it onto itself, then make it shared.
	if err := unix.Mount(netnsRunDir, netnsRunDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind-mounting %s: %w", netnsRunDir, err)
	}
	if err := unix.Mount("", netnsRunDir, "none", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("making %s shared: %w", netnsRunDir, err)
	}
	return nil
}

// deleteNamespace unmounts and removes a named namespace file. The namespace itself
// disappears when nothing else refers to it (processes, sockets, open handles).
func deleteNamespace(name string) error {
	p := nsPath(name)
	if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmounting %s: %w", p, err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// openNamespace opens a named namespace, with a clear error when it does not exist.
func openNamespace(name string) (vnetns.NsHandle, error) {
	if !nsExists(name) {
		return vnetns.None(), &os.PathError{Op: "open namespace", Path: nsPath(name), Err: os.ErrNotExist}
	}
	ns, err := vnetns.GetFromPath(nsPath(name))
	if err != nil {
		return vnetns.None(), fmt.Errorf("opening namespace %s: %w", name, err)
	}
	return ns, nil
}

// errThreadTainted reports that a thread could not return to its original
// namespace; onFreshThread then leaves it locked so that the runtime discards it.
type errThreadTainted struct{ err error }

func (e errThreadTainted) Error() string {
	return "returning to the original network namespace: " + e.err.Error()
}

func (e errThreadTainted) Unwrap() error { return e.err }

// onFreshThread runs fn on a new goroutine locked to its OS thread and waits for it.
// When fn returns errThreadTainted the thread stays locked, and the runtime ends it
// with the goroutine instead of reusing it in the wrong namespace.
func onFreshThread(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		err := fn()
		var tainted errThreadTainted
		if !errors.As(err, &tainted) {
			runtime.UnlockOSThread()
		}
		done <- err
	}()
	return <-done
}

// inNamespace runs fn on an OS thread switched into the named namespace, then
// switches the thread back. Sockets fn creates keep the namespace.
func inNamespace(name string, fn func() error) error {
	ns, err := openNamespace(name)
	if err != nil {
		return err
	}
	defer ns.Close()
	return onFreshThread(func() error {
		orig, err := vnetns.Get()
		if err != nil {
			return err
		}
		defer orig.Close()
		if err := vnetns.Set(ns); err != nil {
			return fmt.Errorf("entering namespace %s: %w", name, err)
		}
		ferr := fn()
		if err := vnetns.Set(orig); err != nil {
			return errThreadTainted{err}
		}
		return ferr
	})
}

// Do runs fn on an OS thread inside the namespace of a VPC or instance of this host,
// then returns the thread to the host namespace. Sockets that fn creates stay in the
// namespace; goroutines that fn starts do not run in it.
func (h *Host) Do(id string, fn func() error) error {
	return inNamespace(h.Namespace(id), fn)
}

// setSysctls writes /proc/sys values (keys relative to /proc/sys, e.g.
// "net/ipv4/ip_forward") inside the named namespace, skipping those already set.
func setSysctls(name string, kv [][2]string) error {
	return inNamespace(name, func() error {
		for _, s := range kv {
			p := filepath.Join("/proc/sys", s[0])
			if cur, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(cur)) == s[1] {
				continue
			}
			if err := os.WriteFile(p, []byte(s[1]+"\n"), 0o644); err != nil {
				return fmt.Errorf("setting %s: %w", s[0], err)
			}
		}
		return nil
	})
}
