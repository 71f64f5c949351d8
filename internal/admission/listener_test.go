package admission

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"strait/internal/fdbudget"
)

// serve runs an http.Server on a loopback listener with a connection cap of
// capacity, answering with h; it returns the listener.
func serve(t *testing.T, capacity int, h http.Handler) *Listener {
	t.Helper()
	b, err := fdbudget.New(1<<20, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := NewListener(ln, Config{Descriptors: b.Pool(capacity)})
	srv := &http.Server{Handler: l.Handler(h), ConnState: l.ConnState, ConnContext: l.ConnContext}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l
}

func dial(t *testing.T, l *Listener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends a GET on c and returns the status line ("" and the error if the
// connection fails).
func get(c net.Conn, path string) (string, error) {
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// closedByServer reports whether the server closed c (EOF or reset on read).
func closedByServer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// waitOpen waits until the listener has admitted n connections.
func waitOpen(t *testing.T, l *Listener, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for l.Open() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections open, want %d", l.Open(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCapEvictsTheLongestWaiting: at the cap, a client that sends its request
// is served, and the connection that waited longest without a request is
// the one closed for it.
func TestCapEvictsTheLongestWaiting(t *testing.T) {
	reading := make(chan struct{}, 1)
	l := serve(t, 3, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			reading <- struct{}{}
			io.ReadAll(r.Body)
		}
		io.WriteString(w, "ok")
	}))
	oldest := dial(t, l)
	waitOpen(t, l, 1)
	slow := dial(t, l)
	io.WriteString(slow, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n") // a body that never comes
	<-reading
	idle := dial(t, l)
	if line, err := get(idle, "/"); err != nil || line != "HTTP/1.1 200 OK" {
		t.Fatalf("first request: %q %v", line, err)
	}
	waitOpen(t, l, 3)

	fresh := dial(t, l)
	if line, err := get(fresh, "/"); err != nil || line != "HTTP/1.1 200 OK" {
		t.Fatalf("a request at the cap: %q %v", line, err)
	}
	if !closedByServer(oldest) {
		t.Fatal("the connection that never sent a request was not evicted")
	}
	if l.evicted.Load() != 1 {
		t.Fatalf("%d evicted, want 1", l.evicted.Load())
	}
	// Next in line: the request whose body never came (it started its phase
	// before the idle connection's last request ended).
	dial(t, l)
	if !closedByServer(slow) {
		t.Fatal("the request whose body never came was not evicted next")
	}
}

// TestAnsweredRequestsAreNotEvicted: a connection whose request was read
// whole is not evicted while it is answered; with every connection being
// answered, a new one is refused.
func TestAnsweredRequestsAreNotEvicted(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	l := serve(t, 2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		started <- struct{}{}
		<-release
		io.WriteString(w, "done")
	}))
	var answered []net.Conn
	for _, body := range []string{"", "0123456789"} {
		c := dial(t, l)
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
		<-started
		answered = append(answered, c)
	}
	refused, err := net.Dial("tcp", l.Addr().String()) // the reset may come before Dial returns
	if err == nil && !closedByServer(refused) {
		t.Fatal("a connection beyond the cap was kept while every connection was answered")
	}
	if l.refused.Load() != 1 || l.evicted.Load() != 0 {
		t.Fatalf("refused %d, evicted %d; want 1 and 0", l.refused.Load(), l.evicted.Load())
	}
	close(release)
	for _, c := range answered {
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
			t.Fatalf("an answered request lost its answer: %q %v", line, err)
		}
	}
}

// TestBodyBudget: bodies read beyond FreeBodyBytes draw on the shared budget;
// a read it cannot cover fails with ErrBusy, and what was drawn is given back.
func TestBodyBudget(t *testing.T) {
	bb := &bodyBudget{limit: 100 << 10}
	small := &budgetedBody{ReadCloser: io.NopCloser(bytes.NewReader(make([]byte, FreeBodyBytes))), budget: bb}
	if _, err := io.ReadAll(small); err != nil || bb.used.Load() != 0 {
		t.Fatalf("a body within the free bytes: %v, drew %d", err, bb.used.Load())
	}
	first := &budgetedBody{ReadCloser: io.NopCloser(bytes.NewReader(make([]byte, FreeBodyBytes+80<<10))), budget: bb}
	if _, err := io.ReadAll(first); err != nil || bb.used.Load() != 80<<10 {
		t.Fatalf("first large body: %v, drew %d", err, bb.used.Load())
	}
	second := &budgetedBody{ReadCloser: io.NopCloser(bytes.NewReader(make([]byte, FreeBodyBytes+40<<10))), budget: bb}
	if _, err := io.ReadAll(second); !errors.Is(err, ErrBusy) {
		t.Fatalf("a body beyond the budget: %v, want ErrBusy", err)
	}
	second.release()
	first.release()
	if bb.used.Load() != 0 || bb.refused.Load() != 1 {
		t.Fatalf("after release: %d drawn, %d refused; want 0 and 1", bb.used.Load(), bb.refused.Load())
	}
}
