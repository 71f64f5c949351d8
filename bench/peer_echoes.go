package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// echoesResult is what `peer echoes` prints: once when its connections are
// open, then once per check.
type echoesResult struct {
	Open   int      `json:"open"`             // connections open (after the dials; before a check)
	Echoed int      `json:"echoed,omitempty"` // connections that echoed the check's byte
	Broken int      `json:"broken,omitempty"` // connections that did not (each replaced after the check)
	Failed int      `json:"failed"`           // dials that failed (at the start, or replacing a broken one)
	Errors []string `json:"errors,omitempty"`
}

// peerEchoes opens count echo connections and keeps them established. Each line
// on stdin is a check: every connection sends one byte and must read it back
// within ioTimeout; the result is printed, and a connection that failed is
// closed and dialled again, so the next check counts connections established
// before it. It exits when stdin closes.
func peerEchoes(args []string) error {
	fs := flag.NewFlagSet("peer echoes", flag.ContinueOnError)
	addr := fs.String("addr", "", "server address")
	count := fs.Int("count", 20, "connections held")
	if err := fs.Parse(args); err != nil {
		return err
	}
	conns := make([]net.Conn, *count)
	var errs errorList
	failed := 0
	redial := func() {
		for i, c := range conns {
			if c != nil {
				continue
			}
			c, err := dialEcho(*addr)
			if err != nil {
				failed++
				errs.add(err)
				continue
			}
			conns[i] = c
		}
	}
	open := func() int {
		n := 0
		for _, c := range conns {
			if c != nil {
				n++
			}
		}
		return n
	}
	redial()
	if err := printJSON(echoesResult{Open: open(), Failed: failed, Errors: errs.msgs}); err != nil {
		return err
	}
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		errs = errorList{}
		failed = 0
		res := echoesResult{Open: open()}
		ok := make([]bool, len(conns))
		var wg sync.WaitGroup
		for i, c := range conns {
			if c == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := echoOnce(c); err != nil {
					errs.add(err)
					return
				}
				ok[i] = true
			}()
		}
		wg.Wait()
		for i, c := range conns {
			if c == nil {
				continue
			}
			if ok[i] {
				res.Echoed++
				continue
			}
			res.Broken++
			c.Close()
			conns[i] = nil
		}
		redial()
		res.Failed, res.Errors = failed, errs.msgs
		if err := printJSON(res); err != nil {
			return err
		}
	}
	return sc.Err()
}

// echoOnce sends one byte on an echo connection and reads it back.
func echoOnce(c net.Conn) error {
	c.SetDeadline(time.Now().Add(ioTimeout))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write([]byte{'x'}); err != nil {
		return err
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return err
	}
	if b[0] != 'x' {
		return fmt.Errorf("echoed %q, sent 'x'", b[0])
	}
	return nil
}
