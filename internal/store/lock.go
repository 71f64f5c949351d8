package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// dirLock is an exclusive advisory lock (flock) on a file in a data
// directory, held for the lifetime of a Store so that a second process (or a
// second Open in this process) fails fast instead of blocking inside etcd.
type dirLock struct {
	f *os.File
}

// lockDir takes the lock file in dir without blocking. dataDir is only used
// in the error message.
func lockDir(dir, dataDir string) (*dirLock, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: lock data dir %s: %w", dataDir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("store: data dir %s is in use by another strait process", dataDir)
		}
		return nil, fmt.Errorf("store: lock data dir %s: %w", dataDir, err)
	}
	return &dirLock{f: f}, nil
}

// release drops the lock.
func (l *dirLock) release() error {
	return l.f.Close() // closing the descriptor releases the flock
}
