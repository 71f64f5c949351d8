package hostagent

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// LockDataDir takes an exclusive lock on a data directory, held until the
// returned file is closed: one server or agent per data directory. The kernel
// drops the lock when the process dies, so a killed process leaves none
// behind. who names the process in the error ("strait server").
func LockDataDir(dir, who string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("opening data directory: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("another %s is running on data directory %s: stop it first, or give another --data-dir", who, dir)
		}
		return nil, fmt.Errorf("locking data directory %s: %w", dir, err)
	}
	return f, nil
}

// DataDirBusy reports whether a server or agent holds dir's lock.
func DataDirBusy(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	return errors.Is(unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB), unix.EWOULDBLOCK)
}
