package backbone

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun"
)

// userspace is wireguard-go on a TUN device in the endpoint namespace, its
// UDP sockets in the host namespace, serving its configuration socket (as
// wg(8) and wgctrl find it) until closed.
type userspace struct {
	dev    *device.Device
	uapi   *net.UnixListener
	served chan struct{} // closed when serve returns
}

// startUserspace creates the TUN device name in the endpoint namespace (with
// mtu, down, unconfigured) and starts wireguard-go on it, its UDP sockets in
// the host namespace, and its configuration socket. The socket comes first:
// another live wireguard-go of the name stops it before it touches that
// one's device.
func startUserspace(hostNS, endpointNS vnetns.NsHandle, name string, mtu int, log *slog.Logger) (*userspace, error) {
	l, err := listenUAPI(name)
	if err != nil {
		return nil, fmt.Errorf("wireguard-go's configuration socket: %w", err)
	}
	var dev *device.Device
	err = runIn(endpointNS, func() error {
		// A device of the name left by a crash (or a kernel WireGuard device
		// of an earlier run) would make TUNSETIFF attach to it or fail.
		if l, err := netlink.LinkByName(name); err == nil {
			if err := netlink.LinkDel(l); err != nil {
				return fmt.Errorf("removing the stale %s: %w", name, err)
			}
		}
		t, err := tun.CreateTUN(name, mtu)
		if err != nil {
			return fmt.Errorf("creating TUN device %s: %w", name, err)
		}
		dev = device.NewDevice(t, nsBind{Bind: conn.NewStdNetBind(), ns: hostNS}, wgLogger(log))
		return nil
	})
	if err != nil {
		l.Close()
		return nil, err
	}
	u := &userspace{dev: dev, uapi: l, served: make(chan struct{})}
	go u.serve(log)
	return u, nil
}

// uapiDir is where wireguard-go's configuration sockets are, "<device>.sock"
// (where wg(8) and wgctrl look).
const uapiDir = "/var/run/wireguard"

// uapiPath is the configuration socket of device name.
func uapiPath(name string) string { return filepath.Join(uapiDir, name+".sock") }

// listenUAPI listens on the configuration socket of device name, for root
// only (0700, as wireguard-go makes it). A socket that nobody answers on is
// a crashed process's and is replaced; one that answers is an error. Closing
// the listener removes the socket. (ipc.UAPIOpen does the same but sets the
// process's umask meanwhile, which would race with the files other goroutines
// of a server create.)
func listenUAPI(name string) (*net.UnixListener, error) {
	if err := removeStaleUAPI(name); err != nil {
		return nil, err
	}
	path := uapiPath(name)
	listen := func() (*net.UnixListener, error) {
		if err := os.MkdirAll(uapiDir, 0o755); err != nil {
			return nil, err
		}
		return net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	}
	l, err := listen()
	if errors.Is(err, fs.ErrNotExist) { // another backbone's close removed the directory in between
		l, err = listen()
	}
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o700); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// removeStaleUAPI removes the configuration socket of device name if nobody
// answers on it (a crashed wireguard-go's); one that answers is an error.
func removeStaleUAPI(name string) error {
	path := uapiPath(name)
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return fmt.Errorf("%s is in use: another process serves a WireGuard device %s", path, name)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the stale %s: %w", path, err)
	}
	return nil
}

// serve answers configuration requests (wgctrl's, wg(8)'s) until the socket
// is closed.
func (u *userspace) serve(log *slog.Logger) {
	defer close(u.served)
	for {
		c, err := u.uapi.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			log.Warn("wireguard-go's configuration socket", "err", err)
			time.Sleep(100 * time.Millisecond) // out of descriptors, say: not in a tight loop
			continue
		}
		go u.dev.IpcHandle(c)
	}
}

// close removes the configuration socket (and its directory when that is
// left empty) and stops wireguard-go; its TUN device goes with it.
func (u *userspace) close() {
	u.uapi.Close()
	os.Remove(uapiDir) // only if empty
	<-u.served
	u.dev.Close()
}

// nsBind opens wireguard-go's UDP sockets in the host namespace, whichever
// thread (re)opens them.
type nsBind struct {
	conn.Bind
	ns vnetns.NsHandle
}

func (b nsBind) Open(port uint16) (fns []conn.ReceiveFunc, actual uint16, err error) {
	err = runIn(b.ns, func() error {
		fns, actual, err = b.Bind.Open(port)
		return err
	})
	return fns, actual, err
}

// wgLogger passes wireguard-go's messages to log: errors as warnings, the rest
// at debug level.
func wgLogger(log *slog.Logger) *device.Logger {
	return &device.Logger{
		Verbosef: func(format string, args ...any) { log.Debug("wireguard-go: " + fmt.Sprintf(format, args...)) },
		Errorf:   func(format string, args ...any) { log.Warn("wireguard-go: " + fmt.Sprintf(format, args...)) },
	}
}

// RemoveStaleSockets removes the configuration sockets that wireguard-go
// left for the tag's backbone (every tag's for ""), when its process was
// killed: those nobody answers on. It returns the paths it removed, and
// removes their directory when that is left empty (`strait down`).
func RemoveStaleSockets(tag string) ([]string, error) {
	name := deviceName(tag)
	if tag == "" {
		name = deviceName("*")
	}
	paths, err := filepath.Glob(uapiPath(name))
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, p := range paths {
		if c, err := net.Dial("unix", p); err == nil {
			c.Close()
			continue // a live wireguard-go's
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	os.Remove(uapiDir) // only if empty
	return removed, errors.Join(errs...)
}
