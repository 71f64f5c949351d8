package server

import (
	"os"

	"strait/internal/hostagent"
)

// lockDataDir takes an exclusive lock on the data directory, held until the
// returned file is closed: one server per data directory.
func lockDataDir(dir string) (*os.File, error) { return hostagent.LockDataDir(dir, "strait server") }
