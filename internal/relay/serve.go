package relay

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/rpc"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sys/unix"

	"strait/internal/agent/netns"
	"strait/internal/dataplane"
	"strait/internal/fdbudget"
)

// SocketName and LockName are the relay process's Unix socket and lock file
// in the data directory; LogName its log.
const (
	SocketName = "relay.sock"
	LockName   = "relay.lock"
	LogName    = "relay.log"
)

// ServeConfig configures a relay process.
type ServeConfig struct {
	// DataDir is the data directory of the server the relay serves: its
	// namespaces' tag (netns.TagFor) and the place of the socket.
	DataDir string
	Version string
	Logger  *slog.Logger
}

// descriptorReserve is what the relay process keeps free of its descriptors
// for its clients, its listeners and the spare sockets of its namespaces
// (netns): a 32nd of its open-file limit, at least 128.
func descriptorReserve(limit int) int { return max(limit/32, 128) }

// Serve runs the relay process until ctx is done or a client asks it to shut
// down (Stop): it takes the data directory's relay lock (one relay process per
// data directory), answers on its socket, and carries the connections of the
// listeners its clients open, with its own share of descriptors. Its
// listeners and connections end when it returns.
func Serve(ctx context.Context, cfg ServeConfig) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	unlock, err := lockDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()
	host, err := netns.NewHost(netns.TagFor(cfg.DataDir), log)
	if err != nil {
		return err
	}
	limit, err := fdbudget.OpenFileLimit()
	if err != nil {
		return err
	}
	budget, err := fdbudget.New(limit, descriptorReserve(limit), log)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go budget.Run(ctx)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "strait_relay"}))
	// The Go runtime's, named apart from the server's own go_*.
	prometheus.WrapRegistererWithPrefix("strait_relay_", reg).MustRegister(collectors.NewGoCollector())
	health := newHealthLog()
	share := budget.Pool(0)
	proxy := dataplane.New(dataplane.Options{Dial: host.StartDial, Report: health.add, Logger: log,
		Registerer: reg, Descriptors: share})
	local := NewLocal(proxy, host, log)
	defer host.CloseSpares()
	defer local.Close()

	sock := filepath.Join(cfg.DataDir, SocketName)
	if len(sock) >= len(unix.RawSockaddrUnix{}.Path) {
		return fmt.Errorf("the relay socket's path %s is longer than a Unix socket's %d bytes: use a shorter --data-dir", sock, len(unix.RawSockaddrUnix{}.Path)-1)
	}
	os.Remove(sock) // a dead relay's: the lock says no other relay runs
	// Only root (the owner) may talk to the relay, from the socket's birth.
	old := unix.Umask(0o077)
	ln, err := net.Listen("unix", sock)
	unix.Umask(old)
	if err != nil {
		return err
	}
	defer os.Remove(sock)
	svc := &service{ctx: ctx, hello: Hello{ID: rand.Text(), PID: os.Getpid(), Version: cfg.Version, Protocol: Protocol},
		local: local, health: health, gatherer: reg, shutdown: cancel}
	srv := rpc.NewServer()
	if err := srv.RegisterName("Relay", svc); err != nil {
		ln.Close()
		return err
	}
	log.Info("relay ready", "socket", sock, "open_file_limit", limit, "reserve", budget.Reserve(),
		"relayed_connections", share.Capacity()/2)

	var conns sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	go func() {
		<-ctx.Done()
		ln.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			log.Warn("relay socket: accept failed", "err", err)
			continue
		}
		mu.Lock()
		open[c] = true
		mu.Unlock()
		conns.Add(1)
		go func() {
			defer conns.Done()
			srv.ServeConn(c)
			mu.Lock()
			delete(open, c)
			mu.Unlock()
		}()
	}
	conns.Wait()
	log.Info("relay stopped")
	return nil
}

// lockDir takes the data directory's relay lock, which the kernel drops with
// the process, and writes the process's pid into it (holder, Stop).
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, LockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	// A moment's retry: holder takes the lock shared for an instant to see
	// whether a relay holds it.
	for try := 0; ; try++ {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		if try == 50 {
			f.Close()
			return nil, fmt.Errorf("a relay already runs for data directory %s", dir)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
