package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The relay process's life seen from outside: found on its socket, started
// when none answers, stopped on request, and told apart by its lock, which
// holds its pid while it runs.

const (
	// helloTimeout bounds the first call on a new connection to a relay
	// process.
	helloTimeout = 5 * time.Second
	// spawnTimeout bounds the wait for a started relay process to answer.
	spawnTimeout = time.Minute
	// stopGrace is how long a relay process has to stop on SIGTERM before
	// it is killed; startGrace how long one that holds its lock has to
	// answer before it is taken for hung.
	stopGrace  = 10 * time.Second
	startGrace = 15 * time.Second
)

// dial connects to the relay process of dataDir and asks who it is.
func dial(dataDir string) (*rpc.Client, Hello, error) {
	c, err := net.DialTimeout("unix", filepath.Join(dataDir, SocketName), helloTimeout)
	if err != nil {
		return nil, Hello{}, err
	}
	rc := rpc.NewClient(c)
	var h Hello
	if err := callWithin(rc, "Hello", false, &h, helloTimeout); err != nil {
		rc.Close()
		return nil, Hello{}, err
	}
	return rc, h, nil
}

// callWithin calls method on rc and waits up to d for the answer.
func callWithin(rc *rpc.Client, method string, args, reply any, d time.Duration) error {
	call := rc.Go("Relay."+method, args, reply, make(chan *rpc.Call, 1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-call.Done:
		return call.Error
	case <-t.C:
		return fmt.Errorf("relay: %s: no answer within %s", method, d)
	}
}

// connect returns a connection to the relay process of dataDir that speaks
// this build's Protocol: the one that answers, else a new one started with
// command. A relay process of another protocol is stopped first (its
// connections end), as is one that holds the lock without answering (hung).
func connect(ctx context.Context, dataDir string, command []string, log *slog.Logger) (*rpc.Client, Hello, bool, error) {
	rc, h, err := dial(dataDir)
	if err == nil {
		if h.Protocol == Protocol {
			return rc, h, false, nil
		}
		rc.Close()
		log.Warn("the running relay process speaks another protocol: stopping it (its relayed connections end) to start this version's",
			"pid", h.PID, "version", h.Version, "protocol", h.Protocol, "want", Protocol)
		if _, err := Stop(ctx, dataDir); err != nil {
			return nil, Hello{}, false, err
		}
	} else if _, held := holder(dataDir); held {
		// Starting, or hung: it has startGrace to answer.
		if rc, h, err := awaitHello(ctx, dataDir); err == nil && h.Protocol == Protocol {
			return rc, h, false, nil
		} else if err == nil {
			rc.Close()
		}
		pid, _ := holder(dataDir)
		log.Warn("the relay process holds its lock but does not answer (or speaks another protocol): stopping it", "pid", pid, "err", err)
		if _, err := Stop(ctx, dataDir); err != nil {
			return nil, Hello{}, false, err
		}
	}
	rc, h, err = spawn(ctx, dataDir, command)
	return rc, h, true, err
}

// awaitHello dials the relay process of dataDir until it answers, for up to
// startGrace.
func awaitHello(ctx context.Context, dataDir string) (*rpc.Client, Hello, error) {
	ctx, cancel := context.WithTimeout(ctx, startGrace)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		rc, h, err := dial(dataDir)
		if err == nil {
			return rc, h, nil
		}
		select {
		case <-ctx.Done():
			return nil, Hello{}, err
		case <-tick.C:
		}
	}
}

// spawn starts a relay process with command, in a session of its own (so that
// neither the server's end nor a signal to its process group ends it), its
// output appended to the data directory's relay log, and waits until a relay
// process answers on the socket (its own, or one that another start won),
// or it exits, or spawnTimeout passes.
func spawn(ctx context.Context, dataDir string, command []string) (*rpc.Client, Hello, error) {
	if len(command) == 0 {
		return nil, Hello{}, errors.New("relay: no command to start the relay process with")
	}
	logPath := filepath.Join(dataDir, LogName)
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, Hello{}, err
	}
	defer logFile.Close()
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = "/" // holds no directory of the server's
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, Hello{}, fmt.Errorf("starting the relay process: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps it while this process lives
	ctx, cancel := context.WithTimeout(ctx, spawnTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if rc, h, err := dial(dataDir); err == nil {
			if h.Protocol == Protocol {
				return rc, h, nil
			}
			rc.Close()
		}
		select {
		case err := <-exited:
			if rc, h, derr := dial(dataDir); derr == nil && h.Protocol == Protocol {
				return rc, h, nil // it lost the lock to one that answers now
			}
			return nil, Hello{}, fmt.Errorf("the relay process exited (%v) before answering: %s", err, logTail(logPath))
		case <-ctx.Done():
			cmd.Process.Kill()
			return nil, Hello{}, fmt.Errorf("waiting for the relay process to answer: %w (%s)", ctx.Err(), logTail(logPath))
		case <-tick.C:
		}
	}
}

// logTail is the last line of the relay log, for an error.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return string(b)
}

// holder reports whether a relay process holds dataDir's lock, and its pid
// (0 when the lock holds none).
func holder(dataDir string) (pid int, held bool) {
	f, err := os.Open(filepath.Join(dataDir, LockName))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err == nil {
		return 0, false
	}
	b, _ := io.ReadAll(f)
	pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	return pid, true
}

// Stop stops the relay process of dataDir, if one runs, and waits until it has
// let go of the data directory: its listeners, resolvers and relayed
// connections end. It asks over the socket, else (the process does not
// answer) sends SIGTERM to the pid in the lock, and SIGKILL after stopGrace.
// `strait down` calls it before removing the namespaces.
func Stop(ctx context.Context, dataDir string) (stopped bool, err error) {
	pid, held := holder(dataDir)
	if rc, _, err := dial(dataDir); err == nil {
		// Its answer may be lost when it closes the connection: the lock
		// says when it has gone.
		callWithin(rc, "Shutdown", false, new(bool), helloTimeout)
		rc.Close()
	} else if held {
		signalRelay(pid, syscall.SIGTERM)
	} else {
		return false, nil
	}
	grace := time.NewTimer(stopGrace)
	defer grace.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, held := holder(dataDir); !held {
			return true, nil
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("the relay process of %s did not stop: %w", dataDir, ctx.Err())
		case <-grace.C:
			signalRelay(pid, syscall.SIGKILL)
		case <-tick.C:
		}
	}
}

// signalRelay sends sig to pid if it is a relay process (its command line
// says `relay`), not to whatever reuses a stale pid.
func signalRelay(pid int, sig syscall.Signal) {
	if pid <= 0 {
		return
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(b, []byte("\x00relay\x00")) {
		return
	}
	syscall.Kill(pid, sig)
}
