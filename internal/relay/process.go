package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// helloTimeout bounds the first call on a new connection to a relay process.
const helloTimeout = 5 * time.Second

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

// spawn starts a relay process with command, in a session of its own (so that
// neither the server's end nor a signal to its process group ends it), its
// output appended to the data directory's relay log, and waits until it
// answers on its socket, or exits, or ctx ends.
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
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, Hello{}, fmt.Errorf("starting the relay process: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps it while this process lives
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		rc, h, err := dial(dataDir)
		if err == nil && h.PID == cmd.Process.Pid {
			return rc, h, nil
		}
		if rc != nil {
			rc.Close() // another relay answers: its lock makes the new one exit
		}
		select {
		case err := <-exited:
			return nil, Hello{}, fmt.Errorf("the relay process exited (%v) before answering: %s", err, logTail(logPath))
		case <-ctx.Done():
			cmd.Process.Kill()
			return nil, Hello{}, fmt.Errorf("waiting for the relay process: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// logTail is the end of the relay log, for an error.
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

// Stop stops the relay process of dataDir, if one runs, and waits until it has
// let go of the data directory: its listeners and relayed connections end.
// `strait down` calls it before removing the namespaces.
func Stop(ctx context.Context, dataDir string) (stopped bool, err error) {
	rc, _, err := dial(dataDir)
	if err != nil {
		return false, nil // none answers
	}
	// Its answer may be lost when it closes the connection: the lock says
	// when it has gone.
	callWithin(rc, "Shutdown", false, new(bool), helloTimeout)
	rc.Close()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		unlock, err := lockDir(dataDir)
		if err == nil {
			unlock()
			return true, nil
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("the relay process of %s did not stop: %w", dataDir, ctx.Err())
		case <-tick.C:
		}
	}
}
