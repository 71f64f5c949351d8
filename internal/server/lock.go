package server

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockDataDir takes an exclusive lock on the data directory, held until the
// returned file is closed: one server per data directory. The kernel drops the
// lock when the process dies, so a killed server leaves none behind.
func lockDataDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("opening data directory: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("another strait server is running on data directory %s: stop it first, or give another --data-dir", dir)
		}
		return nil, fmt.Errorf("locking data directory %s: %w", dir, err)
	}
	return f, nil
}
