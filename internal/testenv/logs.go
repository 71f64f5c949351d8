package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// ErrorLog is a slog handler that keeps the messages logged at error level
// or above, for tests that require a server to log none.
type ErrorLog struct {
	mu   sync.Mutex
	msgs []string
}

// Enabled implements slog.Handler.
func (l *ErrorLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }

// Handle implements slog.Handler.
func (l *ErrorLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	l.msgs = append(l.msgs, b.String())
	l.mu.Unlock()
	return nil
}

// WithAttrs implements slog.Handler (the attributes are dropped).
func (l *ErrorLog) WithAttrs([]slog.Attr) slog.Handler { return l }

// WithGroup implements slog.Handler.
func (l *ErrorLog) WithGroup(string) slog.Handler { return l }

// Take returns and forgets the messages logged so far ("" for none).
func (l *ErrorLog) Take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.Join(l.msgs, "\n")
	l.msgs = nil
	return s
}
