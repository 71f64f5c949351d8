package testenv

import (
	"bytes"
	"os"
	"runtime"
	"sync"
	"testing"

	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// captureLimit bounds what a Capture keeps (frames past it are counted, not
// kept).
const captureLimit = 64 << 20

// Capture records the frames on a Datacenter's underlay: an AF_PACKET socket
// in the datacenter namespace for every protocol on every interface there (the
// bridge's ports), so it sees each frame between machines as it enters the
// bridge and as it leaves.
type Capture struct {
	f    *os.File
	done chan struct{}

	mu     sync.Mutex
	frames [][]byte
	kept   int
	count  int
}

// Capture starts capturing on the underlay until Stop or the end of the test.
func (d *Datacenter) Capture(t testing.TB) *Capture {
	t.Helper()
	fd, err := socketIn(d.Netns, func() (int, error) {
		return unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	})
	if err != nil {
		t.Fatalf("capture socket in %s: %v", d.Netns, err)
	}
	c := &Capture{f: os.NewFile(uintptr(fd), "capture"), done: make(chan struct{})}
	go c.read()
	t.Cleanup(c.Stop)
	return c
}

func (c *Capture) read() {
	defer close(c.done)
	buf := make([]byte, 1<<16)
	for {
		n, err := c.f.Read(buf)
		if err != nil {
			return
		}
		c.mu.Lock()
		c.count++
		if c.kept+n <= captureLimit {
			c.frames = append(c.frames, bytes.Clone(buf[:n]))
			c.kept += n
		}
		c.mu.Unlock()
	}
}

// Stop ends the capture (idempotent); what it saw stays readable.
func (c *Capture) Stop() {
	c.f.Close()
	<-c.done
}

// Frames is the number of frames seen so far.
func (c *Capture) Frames() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}

// Contains reports whether a frame seen so far contains b.
func (c *Capture) Contains(b []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.frames {
		if bytes.Contains(f, b) {
			return true
		}
	}
	return false
}

// Count is the number of frames seen so far (of those kept) that match.
func (c *Capture) Count(match func(frame []byte) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, f := range c.frames {
		if match(f) {
			n++
		}
	}
	return n
}

// socketIn creates a socket (with open) while in the named network namespace:
// on a thread of its own that is discarded afterwards.
func socketIn(name string, open func() (int, error)) (int, error) {
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		h, err := vnetns.GetFromPath(nsRunPath(name))
		if err != nil {
			ch <- result{-1, err}
			return
		}
		defer h.Close()
		if err := vnetns.Set(h); err != nil {
			ch <- result{-1, err}
			return
		}
		fd, err := open()
		ch <- result{fd, err}
	}()
	r := <-ch
	return r.fd, r.err
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
