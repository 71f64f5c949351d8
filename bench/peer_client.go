package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// bulkResult is what `peer bulk` prints: bytes the server acknowledged over all
// streams and the time from the start of sending to the last acknowledgement.
type bulkResult struct {
	Streams int     `json:"streams"`
	Bytes   uint64  `json:"bytes"`
	Seconds float64 `json:"seconds"`
	Gbps    float64 `json:"gbps"`
}

// rrResult is what `peer rr` prints: round-trip times of count small messages over
// one connection.
type rrResult struct {
	Count  int     `json:"count"`
	Warmup int     `json:"warmup"` // untimed round trips before the count
	Size   int     `json:"size"`
	P50us  float64 `json:"p50_us"`
	P99us  float64 `json:"p99_us"`
	MeanUs float64 `json:"mean_us"`
}

// cpsResult is what `peer cps` prints: completed and failed connect tests, the rate
// of completed ones, the slowest, and how many each server (by its id byte) answered.
type cpsResult struct {
	Conc    int            `json:"conc"`
	OK      int64          `json:"ok"`
	Failed  int64          `json:"failed"`
	Seconds float64        `json:"seconds"`
	PerSec  float64        `json:"per_sec"`
	MaxMs   float64        `json:"max_ms"`
	By      map[string]int `json:"by"`
	Errors  []string       `json:"errors,omitempty"`
	// FailedStarts are the start times (Unix µs) of the first 1,000 failed tests.
	FailedStarts []int64 `json:"failed_starts_unix_us,omitempty"`
	// With --duration 0, each line on stdin is a mark (a Unix µs time): the
	// tests are counted by the interval between marks they started in
	// (before the first, between the first and second, …, after the last).
	Marks         []int64 `json:"marks_unix_us,omitempty"`
	OKByPhase     []int64 `json:"ok_by_phase,omitempty"`
	FailedByPhase []int64 `json:"failed_by_phase,omitempty"`
	// With marks, the longest interval in which no test completed
	// successfully, from the client's start to its end (so a client that
	// never succeeds again after some time sees that time as a gap), and
	// when it began (Unix µs).
	MaxGapMs   float64 `json:"max_gap_ms,omitempty"`
	MaxGapFrom int64   `json:"max_gap_from_unix_us,omitempty"`
}

// holdResult is what `peer hold` prints once its connections are open; with
// --reopen it prints a second one when stdin closes, with the connections the
// proxy closed and that were opened again.
type holdResult struct {
	Open     int      `json:"open"`
	Failed   int      `json:"failed"`
	Seconds  float64  `json:"seconds"`
	Errors   []string `json:"errors,omitempty"`
	Reopened int64    `json:"reopened,omitempty"`
	// ReopenFailed counts failed attempts to open a closed connection again
	// (each retried a second later).
	ReopenFailed int64 `json:"reopen_failed,omitempty"`
}

// ioTimeout bounds a peer's dial and each handshake read.
const ioTimeout = 5 * time.Second

// printJSON prints v as one JSON line on stdout.
func printJSON(v any) error { return json.NewEncoder(os.Stdout).Encode(v) }

// peerBulk sends as fast as it can over N sink connections for a duration.
func peerBulk(args []string) error {
	fs := flag.NewFlagSet("peer bulk", flag.ContinueOnError)
	addr := fs.String("addr", "", "server address")
	streams := fs.Int("streams", 1, "parallel connections")
	dur := fs.Duration("duration", 3*time.Second, "sending time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	conns := make([]net.Conn, *streams)
	for i := range conns {
		c, err := net.DialTimeout("tcp", *addr, ioTimeout)
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := c.Write([]byte{cmdSink}); err != nil {
			return err
		}
		conns[i] = c
	}
	start := time.Now()
	deadline := start.Add(*dur)
	var total atomic.Uint64
	errs := make(chan error, len(conns))
	for _, c := range conns {
		go func(c net.Conn) {
			buf := make([]byte, 256<<10)
			for time.Now().Before(deadline) {
				if _, err := c.Write(buf); err != nil {
					errs <- err
					return
				}
			}
			c.(*net.TCPConn).CloseWrite()
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			var ack [8]byte
			if _, err := io.ReadFull(c, ack[:]); err != nil {
				errs <- fmt.Errorf("reading the byte count: %w", err)
				return
			}
			total.Add(binary.BigEndian.Uint64(ack[:]))
			errs <- nil
		}(c)
	}
	for range conns {
		if err := <-errs; err != nil {
			return err
		}
	}
	secs := time.Since(start).Seconds()
	return printJSON(bulkResult{Streams: *streams, Bytes: total.Load(), Seconds: secs, Gbps: float64(total.Load()) * 8 / secs / 1e9})
}

// rrWarmup is how many round trips peer rr makes before timing any.
const rrWarmup = 200

// peerRR times count request/response round trips of size bytes on one connection,
// after a warm-up.
func peerRR(args []string) error {
	fs := flag.NewFlagSet("peer rr", flag.ContinueOnError)
	addr := fs.String("addr", "", "server address")
	count := fs.Int("count", 10000, "round trips measured")
	size := fs.Int("size", 64, "message size in bytes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := dialEcho(*addr)
	if err != nil {
		return err
	}
	defer c.Close()
	msg, back := make([]byte, *size), make([]byte, *size)
	times := make([]time.Duration, 0, *count)
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	for i := -rrWarmup; i < *count; i++ {
		t0 := time.Now()
		if _, err := c.Write(msg); err != nil {
			return err
		}
		if _, err := io.ReadFull(c, back); err != nil {
			return err
		}
		if i >= 0 {
			times = append(times, time.Since(t0))
		}
	}
	slices.Sort(times)
	var sum time.Duration
	for _, t := range times {
		sum += t
	}
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	return printJSON(rrResult{Count: len(times), Warmup: rrWarmup, Size: *size, P50us: us(percentile(times, 50)), P99us: us(percentile(times, 99)),
		MeanUs: us(sum / time.Duration(len(times)))})
}

// dialEcho connects and starts echo mode (the server acknowledges with 'E').
func dialEcho(addr string) (net.Conn, error) { return dialMode(addr, cmdEcho) }

// dialMode connects and sends a command the server acknowledges with the same byte.
func dialMode(addr string, cmd byte) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(ioTimeout))
	var ack [1]byte
	if _, err = c.Write([]byte{cmd}); err == nil {
		_, err = io.ReadFull(c, ack[:])
	}
	if err == nil && ack[0] != cmd {
		err = fmt.Errorf("%q acknowledged with %q", cmd, ack[0])
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// errorList keeps the first few distinct error messages.
type errorList struct {
	mu   sync.Mutex
	msgs []string
}

func (l *errorList) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.msgs) < 5 && !slices.Contains(l.msgs, err.Error()) {
		l.msgs = append(l.msgs, err.Error())
	}
}

// peerCPS runs connect tests (connect, send 'C', read one byte, close) from conc
// workers for a duration, or until stdin closes when the duration is 0 (each
// line read before that is a mark: see cpsResult).
func peerCPS(args []string) error {
	fs := flag.NewFlagSet("peer cps", flag.ContinueOnError)
	addr := fs.String("addr", "", "server address")
	conc := fs.Int("conc", 1, "concurrent workers")
	dur := fs.Duration("duration", 3*time.Second, "test time (0: until stdin closes)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stop := make(chan struct{})
	var marks []int64
	var markErr error
	if *dur > 0 {
		time.AfterFunc(*dur, func() { close(stop) })
	} else {
		go func() {
			marks, markErr = readMarks(os.Stdin)
			close(stop)
		}()
	}
	var ok, failed, maxNs atomic.Int64
	var mu sync.Mutex
	by := map[string]int{}
	var errs errorList
	var failedStarts []int64
	var okAt, failedAt []int64 // start times of every test, with marks only
	var okEnd []int64          // end times of the successful tests, with marks only
	var wg sync.WaitGroup
	start := time.Now()
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := map[string]int{}
			var localOK, localFailed, localEnd []int64
			for {
				select {
				case <-stop:
					mu.Lock()
					for k, v := range local {
						by[k] += v
					}
					okAt, failedAt, okEnd = append(okAt, localOK...), append(failedAt, localFailed...), append(okEnd, localEnd...)
					mu.Unlock()
					return
				default:
				}
				t0 := time.Now()
				id, err := connectTest(*addr)
				d := int64(time.Since(t0))
				for m := maxNs.Load(); d > m && !maxNs.CompareAndSwap(m, d); m = maxNs.Load() {
				}
				if err != nil {
					failed.Add(1)
					errs.add(err)
					mu.Lock()
					if len(failedStarts) < 1000 {
						failedStarts = append(failedStarts, t0.UnixMicro())
					}
					mu.Unlock()
					if *dur == 0 {
						localFailed = append(localFailed, t0.UnixMicro())
					}
					continue
				}
				ok.Add(1)
				local[string(id)]++
				if *dur == 0 {
					localOK, localEnd = append(localOK, t0.UnixMicro()), append(localEnd, time.Now().UnixMicro())
				}
			}
		}()
	}
	wg.Wait()
	end := time.Now()
	secs := end.Sub(start).Seconds()
	res := cpsResult{Conc: *conc, OK: ok.Load(), Failed: failed.Load(), Seconds: secs, PerSec: float64(ok.Load()) / secs,
		MaxMs: float64(maxNs.Load()) / 1e6, By: by, Errors: errs.msgs, FailedStarts: failedStarts}
	if markErr != nil {
		return markErr
	}
	if len(marks) > 0 {
		res.Marks, res.OKByPhase, res.FailedByPhase = marks, byPhase(okAt, marks), byPhase(failedAt, marks)
		gap, from := longestGap(okEnd, start.UnixMicro(), end.UnixMicro())
		res.MaxGapMs, res.MaxGapFrom = float64(gap)/1e3, from
	}
	return printJSON(res)
}

// readMarks reads one Unix µs time per line until EOF.
func readMarks(r io.Reader) ([]int64, error) {
	var marks []int64
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		m, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			return marks, fmt.Errorf("mark %q: %w", line, err)
		}
		marks = append(marks, m)
	}
	return marks, sc.Err()
}

// byPhase counts the times before marks[0], in [marks[i], marks[i+1]), and at
// or after the last mark; marks are in increasing order.
func byPhase(times, marks []int64) []int64 {
	n := make([]int64, len(marks)+1)
	for _, t := range times {
		i, _ := slices.BinarySearch(marks, t+1) // marks ≤ t
		n[i]++
	}
	return n
}

// longestGap is the longest interval (µs) between consecutive times in
// [from, to], from and to included as bounds, and where it starts; times need
// not be sorted and are sorted in place.
func longestGap(times []int64, from, to int64) (gap, at int64) {
	slices.Sort(times)
	prev := from
	for _, t := range append(times, to) {
		if t-prev > gap {
			gap, at = t-prev, prev
		}
		prev = max(prev, t)
	}
	return gap, at
}

// connectTest makes one connection, sends 'C', reads the server's id byte and
// waits for the server to close first (so the client holds no TIME_WAIT).
func connectTest(addr string) (byte, error) {
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := c.Write([]byte{cmdConnect}); err != nil {
		return 0, err
	}
	var id [2]byte
	if _, err := io.ReadFull(c, id[:1]); err != nil {
		return 0, err
	}
	if n, err := c.Read(id[1:]); n != 0 || err != io.EOF {
		return 0, fmt.Errorf("after the id byte: %d bytes, %v (want EOF)", n, err)
	}
	return id[0], nil
}

// peerHold opens count hold connections (64 at a time), prints how many are
// open, and holds them idle until stdin closes; then it asks the server to close
// each (one byte) and waits for the server's FIN, so no TIME_WAIT is left on the
// client and proxy ports.
func peerHold(args []string) error {
	fs := flag.NewFlagSet("peer hold", flag.ContinueOnError)
	addr := fs.String("addr", "", "server address")
	count := fs.Int("count", 1000, "connections to hold")
	reopen := fs.Bool("reopen", false, "open again every connection the proxy closes (its idle timeout), until stdin closes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	conns := make([]net.Conn, *count)
	var errs errorList
	var failed atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dialMode(*addr, cmdHold)
			if err != nil {
				failed.Add(1)
				errs.add(err)
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	open := *count - int(failed.Load())
	if err := printJSON(holdResult{Open: open, Failed: int(failed.Load()), Seconds: time.Since(start).Seconds(), Errors: errs.msgs}); err != nil {
		return err
	}
	if !*reopen {
		io.Copy(io.Discard, os.Stdin)
	} else {
		res := keepOpen(*addr, conns)
		if err := printJSON(res); err != nil {
			return err
		}
	}
	for _, c := range conns {
		if c != nil {
			c.Write([]byte{cmdHold})
		}
	}
	for _, c := range conns {
		if c != nil {
			c.SetReadDeadline(time.Now().Add(ioTimeout))
			c.Read(make([]byte, 1))
			c.Close()
		}
	}
	return nil
}

// keepOpen waits on every open connection and opens it again when the proxy
// closes it, until stdin closes; conns then holds the open connections.
func keepOpen(addr string, conns []net.Conn) holdResult {
	stop := make(chan struct{})
	var reopened, failed atomic.Int64
	var errs errorList
	var mu sync.Mutex // guards conns against the final close
	var wg sync.WaitGroup
	for i, c := range conns {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop: // a connection opened after the wake-up below
					return
				default:
				}
				_, err := c.Read(make([]byte, 1)) // the server never writes to a held connection
				select {
				case <-stop:
					return
				default:
				}
				c.Close()
				errs.add(fmt.Errorf("held connection closed: %w", err))
				for {
					nc, err := dialMode(addr, cmdHold)
					if err == nil {
						mu.Lock()
						conns[i], c = nc, nc
						mu.Unlock()
						reopened.Add(1)
						break
					}
					failed.Add(1)
					errs.add(err)
					select {
					case <-stop:
						mu.Lock()
						conns[i] = nil
						mu.Unlock()
						return
					case <-time.After(time.Second):
					}
				}
			}
		}()
	}
	io.Copy(io.Discard, os.Stdin)
	close(stop)
	mu.Lock()
	for _, c := range conns {
		if c != nil {
			c.SetReadDeadline(time.Now()) // wakes the readers
		}
	}
	mu.Unlock()
	wg.Wait()
	for _, c := range conns {
		if c != nil {
			c.SetReadDeadline(time.Time{})
		}
	}
	return holdResult{Reopened: reopened.Load(), ReopenFailed: failed.Load(), Errors: errs.msgs}
}
