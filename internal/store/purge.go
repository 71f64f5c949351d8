package store

import (
	"time"

	"go.etcd.io/etcd/client/pkg/v3/fileutil"
	"go.uber.org/zap"
)

// Old WAL and snapshot files are removed by the store, not by etcd: etcd's
// own purge loop ends the process (its logger's Fatal, which exits) on the
// first error it meets — a directory it cannot read because the process is
// out of descriptors, for one — and with it the API and every relayed
// connection. The store runs the same purge (etcd's fileutil functions, with
// the WAL's file locks), logs a failure and tries again at the next interval.

// defaultPurgeInterval is etcd's own purge interval.
const defaultPurgeInterval = 30 * time.Second

// keepFiles is how many WAL files and snapshot files are kept (etcd's
// defaults, --max-wals and --max-snapshots).
const keepFiles = 5

// purgeSpec is one kind of file to purge.
type purgeSpec struct {
	dir, suffix string
	locked      bool // WAL files: remove only those the WAL released (flock)
}

// purgeFiles runs a purge loop per kind of file until stop is closed, and
// returns once they ended.
func (s *Store) purgeFiles(lg *zap.Logger, walDir, snapDir string, interval time.Duration, stop <-chan struct{}) {
	specs := []purgeSpec{{snapDir, "snap.db", false}, {snapDir, "snap", false}, {walDir, "wal", true}}
	done := make(chan struct{}, len(specs))
	for _, sp := range specs {
		go func() {
			defer func() { done <- struct{}{} }()
			s.purgeLoop(lg, sp, interval, stop)
		}()
	}
	for range specs {
		<-done
	}
}

// purgeLoop keeps one kind of file purged: etcd's loop ends at its first
// error, so a failure is logged and the loop started again an interval later.
func (s *Store) purgeLoop(lg *zap.Logger, sp purgeSpec, interval time.Duration, stop <-chan struct{}) {
	for {
		var donec <-chan struct{}
		var errc <-chan error
		if sp.locked {
			donec, errc = fileutil.PurgeFileWithDoneNotify(lg, sp.dir, sp.suffix, keepFiles, interval, stop)
		} else {
			donec, errc = fileutil.PurgeFileWithoutFlock(lg, sp.dir, sp.suffix, keepFiles, interval, stop)
		}
		select {
		case err := <-errc:
			<-donec
			s.log.Warn("store: removing old etcd files failed; trying again later", "dir", sp.dir, "suffix", sp.suffix, "retry_in", interval, "err", err)
		case <-donec:
			return // stopped
		}
		select {
		case <-time.After(interval):
		case <-stop:
			return
		}
	}
}
