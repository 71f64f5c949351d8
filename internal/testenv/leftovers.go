package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"strait/internal/agent/backbone"
	"strait/internal/agent/netns"
	"strait/internal/relay"
)

// leftoverDir holds a registration for every data plane a test process has
// created: Go skips a test's cleanups when the binary is killed or -timeout
// panics, which would leave its namespaces (and the programs in them) and its
// temporary directories behind. The test process holds an flock on each of its
// registrations while it lives; the kernel drops it when the process dies, so a
// registration whose lock can be taken belongs to a dead run.
const leftoverDir = "/run/strait-tests"

// registration is what a sweep removes for a dead test run: the namespaces of a
// data plane tag, other named network namespaces (a Datacenter's) and
// temporary directories.
type registration struct {
	Tag        string   `json:"tag"`
	Dirs       []string `json:"dirs,omitempty"`
	Namespaces []string `json:"namespaces,omitempty"`
}

// RegisterDataplane sweeps what killed test runs left behind, then registers the
// namespaces of tag (none if tag is "") and the directories dirs as this test's,
// until the test's cleanups (registered before this call, so run after) have
// removed them. Call it before creating anything with tag.
func RegisterDataplane(t testing.TB, tag string, dirs ...string) {
	t.Helper()
	registerLeftovers(t, registration{Tag: tag, Dirs: dirs})
}

// registerLeftovers sweeps what killed test runs left behind, then registers
// reg as this test's until the test's cleanups registered before this call
// have run.
func registerLeftovers(t testing.TB, reg registration) {
	t.Helper()
	SweepLeftovers(t)
	if err := os.MkdirAll(leftoverDir, 0o700); err != nil {
		t.Fatalf("registering test data plane: %v", err)
	}
	b, err := json.Marshal(reg)
	if err != nil {
		t.Fatal(err)
	}
	// Locked before it gets its name, so that no sweep sees it unlocked.
	tmp, err := os.CreateTemp(leftoverDir, ".new-")
	if err != nil {
		t.Fatalf("registering test data plane: %v", err)
	}
	path := filepath.Join(leftoverDir, strings.TrimPrefix(filepath.Base(tmp.Name()), ".new-")+"-"+reg.Tag)
	if err := unix.Flock(int(tmp.Fd()), unix.LOCK_EX); err == nil {
		if _, err = tmp.Write(b); err == nil {
			err = os.Rename(tmp.Name(), path)
		}
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		t.Fatalf("registering test data plane: %v", err)
	}
	t.Cleanup(func() {
		os.Remove(path)
		tmp.Close()
	})
}

// SweepLeftovers removes what dead test runs registered: their namespaces (the
// programs in them are stopped) and their temporary directories. What it cannot
// remove is reported and left registered for the next sweep.
func SweepLeftovers(t testing.TB) {
	t.Helper()
	entries, err := os.ReadDir(leftoverDir)
	if err != nil {
		return // nothing registered yet
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if msg := sweep(filepath.Join(leftoverDir, e.Name())); msg != "" {
			t.Log(msg)
		}
	}
}

// sweep removes one registration's leftovers if its owner is gone, and says what
// it did.
func sweep(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return "" // its test run is alive (or another sweep has it)
	}
	var reg registration
	if err := json.NewDecoder(f).Decode(&reg); err != nil {
		os.Remove(path)
		return fmt.Sprintf("removed unreadable leftover registration %s: %v", path, err)
	}
	// Removed while we held the lock: the owner finished and cleaned up itself.
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return ""
	}
	// A relay process of its data directories first: its listeners are in
	// the namespaces.
	for _, d := range reg.Dirs {
		stopRelay(d)
	}
	var removed []string
	if reg.Tag != "" { // "" would be every server's namespaces
		if removed, err = netns.Down(reg.Tag); err != nil {
			return fmt.Sprintf("leftovers of a killed test run (tag %s): removing namespaces: %v", reg.Tag, err)
		}
		socks, _ := backbone.RemoveStaleSockets(reg.Tag) // wireguard-go's, of a killed agent
		removed = append(removed, socks...)
	}
	for _, name := range reg.Namespaces {
		if err := deleteNetns(name); err != nil {
			return fmt.Sprintf("leftovers of a killed test run: %v", err)
		}
		removed = append(removed, name)
	}
	tmp := filepath.Clean(os.TempDir()) + string(filepath.Separator)
	for _, d := range reg.Dirs {
		if strings.HasPrefix(filepath.Clean(d), tmp) {
			os.RemoveAll(d)
			os.Remove(filepath.Dir(d)) // the test's temporary root, once empty
		}
	}
	os.Remove(path)
	return fmt.Sprintf("removed the leftovers of a killed test run (tag %s): namespaces %v, directories %v", reg.Tag, removed, reg.Dirs)
}

// stopRelay stops the relay process of a data directory, if one runs.
func stopRelay(dataDir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := relay.Stop(ctx, dataDir)
	return err
}
