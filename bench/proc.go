package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child process in its own process group, so that signalling it reaches
// what it started (`strait exec` → `ip netns exec` → the peer).
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // stdout, line by line; closed at EOF
	stderr *tailBuffer
	done   chan struct{}
	err    error // the exit status, once done is closed
}

// procs is the set of live children, killed by cleanup.
var procs = struct {
	sync.Mutex
	m map[*proc]bool
}{m: map[*proc]bool{}}

// startProc starts argv. stdout is delivered line by line; stderr keeps its tail
// (or goes to logTo when given).
func startProc(name string, argv []string, logTo io.Writer) (*proc, error) {
	p := &proc{name: name, cmd: exec.Command(argv[0], argv[1:]...), lines: make(chan string, 64), stderr: &tailBuffer{max: 4096}, done: make(chan struct{})}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if logTo != nil {
		p.cmd.Stderr = logTo
	} else {
		p.cmd.Stderr = p.stderr
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	procs.Lock()
	procs.m[p] = true
	procs.Unlock()
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.err = p.cmd.Wait()
		procs.Lock()
		delete(procs.m, p)
		procs.Unlock()
		close(p.done)
	}()
	return p, nil
}

// signal sends sig to the process group.
func (p *proc) signal(sig syscall.Signal) { syscall.Kill(-p.cmd.Process.Pid, sig) }

// line waits for the next stdout line.
func (p *proc) line(timeout time.Duration) (string, error) {
	select {
	case l, ok := <-p.lines:
		if !ok {
			<-p.done
			return "", fmt.Errorf("%s exited (%v) without output: %s", p.name, p.err, p.stderr)
		}
		return l, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("%s: no output after %s: %s", p.name, timeout, p.stderr)
	}
}

// stop ends the process group: SIGTERM, then SIGKILL after grace.
func (p *proc) stop(grace time.Duration) error {
	p.stdin.Close()
	select {
	case <-p.done:
		return p.err
	default:
	}
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.signal(syscall.SIGKILL)
		<-p.done
	}
	return p.err
}

// killAll stops every live child's process group but except's (cleanup).
func killAll(except *proc) {
	procs.Lock()
	live := make([]*proc, 0, len(procs.m))
	for p := range procs.m {
		if p != except {
			live = append(live, p)
		}
	}
	procs.Unlock()
	for _, p := range live {
		p.stop(3 * time.Second)
	}
}

// runJSON runs argv to completion (killing it after timeout or when ctx ends) and
// decodes its last stdout line into v.
func runJSON(ctx context.Context, name string, argv []string, timeout time.Duration, v any) error {
	p, err := startProc(name, argv, nil)
	if err != nil {
		return err
	}
	p.stdin.Close()
	var last string
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case l, ok := <-p.lines:
			if ok {
				last = l
				continue
			}
			<-p.done
			if p.err != nil {
				return fmt.Errorf("%s: %v: %s", name, p.err, p.stderr)
			}
			if err := json.Unmarshal([]byte(last), v); err != nil {
				return fmt.Errorf("%s: output %q: %w", name, last, err)
			}
			return nil
		case <-timer.C:
			p.stop(time.Second)
			return fmt.Errorf("%s: still running after %s: %s", name, timeout, p.stderr)
		case <-ctx.Done():
			p.stop(time.Second)
			return ctx.Err()
		}
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   bytes.Buffer
}

// Write keeps the tail of p.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b.Write(p)
	if over := t.b.Len() - t.max; over > 0 {
		t.b.Next(over)
	}
	return len(p), nil
}

// String is the kept tail, trimmed.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(t.b.String())
}

// errStopped marks a run interrupted by a signal.
var errStopped = errors.New("interrupted")

// rawJSON keeps a peer's JSON answer undecoded.
type rawJSON []byte

// UnmarshalJSON keeps a copy of the data.
func (r *rawJSON) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}

// decode decodes a peer's answer.
func decode(b []byte, v any) error { return json.Unmarshal(b, v) }
