package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// records is a slog handler that keeps every record.
type records struct {
	mu   sync.Mutex
	list []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, rec.Clone())
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// find returns the first record whose message contains msg.
func (r *records) find(msg string) (slog.Record, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.list {
		if strings.Contains(rec.Message, msg) {
			return rec, true
		}
	}
	return slog.Record{}, false
}

// TestPurgeFailureDoesNotStopTheStore: when old WAL files cannot be listed (as
// when the process is out of descriptors), the store logs it and keeps
// working, and purges again once it can. etcd's own purge loop calls Fatal
// on that error, which exits the process (the test binary, here).
func TestPurgeFailureDoesNotStopTheStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logs := &records{}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s, err := Open(ctx, Config{DataDir: dir, Logger: slog.New(logs), PurgeInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wal := s.etcd.Server.Cfg.WALDir()
	// The WAL keeps writing to its open file; only listing the directory fails.
	if err := os.Rename(wal, wal+".away"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the purge failure to be logged", func() bool {
		rec, ok := logs.find("removing old etcd files failed")
		return ok && rec.Level == slog.LevelWarn
	})
	if err := os.Rename(wal+".away", wal); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.Put("vpc/vpc-1", item{Name: "after"}) }); err != nil {
		t.Fatalf("write after the purge failure: %v", err)
	}
	var got item
	if err := s.Get(ctx, "vpc/vpc-1", &got); err != nil || got.Name != "after" {
		t.Fatalf("read back %+v, %v", got, err)
	}
	// The loop runs again: old files are removed once there are more than kept
	// (these sort before the WAL's first file, which it holds locked).
	for i := range keepFiles + 2 {
		f := filepath.Join(wal, fmt.Sprintf("%015d-old%d.wal", 0, i))
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "old WAL files to be purged again", func() bool {
		m, _ := filepath.Glob(filepath.Join(wal, "*.wal"))
		return len(m) <= keepFiles
	})
}

// TestEtcdFatalIsLoggedAsFatal: a message etcd logs right before it exits is
// logged at LevelFatal, says the process stops, and carries its cause — also
// while the store is closing (when etcd's errors are demoted to debug).
func TestEtcdFatalIsLoggedAsFatal(t *testing.T) {
	for _, closing := range []bool{false, true} {
		logs := &records{}
		var c atomic.Bool
		c.Store(closing)
		lg := newEtcdLogger(slog.New(logs), &c)
		ce := lg.Check(zapcore.InfoLevel, "ignored")
		if ce != nil {
			t.Fatal("etcd's info messages are forwarded")
		}
		core := lg.Core()
		if err := core.Write(zapcore.Entry{Level: zapcore.FatalLevel, Message: "failed to purge wal file"},
			[]zapcore.Field{zap.Error(errors.New("open member/wal: too many open files"))}); err != nil {
			t.Fatal(err)
		}
		rec, ok := logs.find("failed to purge wal file")
		if !ok {
			t.Fatal("the fatal message was not logged")
		}
		if rec.Level != LevelFatal || !strings.Contains(rec.Message, "stops the process") {
			t.Errorf("closing=%v: logged at %v as %q, want LevelFatal saying the process stops", closing, rec.Level, rec.Message)
		}
		cause := ""
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "error" {
				cause = a.Value.String()
			}
			return true
		})
		if !strings.Contains(cause, "too many open files") {
			t.Errorf("the cause is missing: error=%q", cause)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
