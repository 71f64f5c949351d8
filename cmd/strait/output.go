package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer) *table { return &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)} }

func (t *table) row(cols ...string) {
	for i, c := range cols {
		if c == "" {
			cols[i] = "-"
		}
	}
	fmt.Fprintln(t.tw, strings.Join(cols, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// printFields writes key/value lines, aligned.
func printFields(w io.Writer, kv ...string) error {
	t := newTable(w)
	for i := 0; i+1 < len(kv); i += 2 {
		t.row(kv[i], kv[i+1])
	}
	return t.flush()
}

// age is a short duration since t: 42s, 5m, 3h, 2d.
func age(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// isTerminal reports whether w is a terminal (progress is then redrawn in place).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// waiter polls until a condition holds, showing progress on w: one line redrawn
// in place on a terminal, a plain line per change otherwise.
type waiter struct {
	w        io.Writer
	what     string
	interval time.Duration
	timeout  time.Duration
}

// wait calls poll until it reports done; status describes the current state.
func (wt waiter) wait(ctx context.Context, poll func() (status string, done bool, err error)) error {
	ctx, cancel := context.WithTimeout(ctx, wt.timeout)
	defer cancel()
	tty := isTerminal(wt.w)
	start := time.Now()
	last := ""
	spin := `|/-\`
	for i := 0; ; i++ {
		status, done, err := poll()
		if err != nil {
			if tty {
				fmt.Fprintln(wt.w)
			}
			return err
		}
		elapsed := time.Since(start).Round(100 * time.Millisecond)
		switch {
		case tty:
			fmt.Fprintf(wt.w, "\r\033[K%c waiting for %s: %s (%s)", spin[i%len(spin)], wt.what, status, elapsed)
			if done {
				fmt.Fprintf(wt.w, "\r\033[Kdone: %s: %s (%s)\n", wt.what, status, elapsed)
			}
		case status != last:
			fmt.Fprintf(wt.w, "waiting for %s: %s\n", wt.what, status)
		}
		last = status
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprintln(wt.w)
			}
			return fmt.Errorf("gave up waiting for %s after %s (last state: %s); check again later, the operation goes on in the server", wt.what, wt.timeout, last)
		case <-time.After(wt.interval):
		}
	}
}

// byteSize formats a byte count for people: 512 B, 1.5 KiB, 20.0 MiB.
func byteSize(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
