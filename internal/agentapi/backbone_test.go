package agentapi

import (
	"os"
	"path/filepath"
	"testing"
)

// The backbone key is made once, kept 0600 in the data directory and read
// back unchanged by later starts.
func TestBackboneKeyIsKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "agent")
	k1, err := BackboneKey(dir)
	if err != nil || k1.IsZero() {
		t.Fatalf("first start: %v, %v", k1, err)
	}
	fi, err := os.Stat(filepath.Join(dir, backboneKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	k2, err := BackboneKey(dir)
	if err != nil || k2 != k1 {
		t.Fatalf("second start: a different key (%v)", err)
	}
}

// The local address towards a server on loopback is a loopback address.
func TestLocalAddressTowardsTheServer(t *testing.T) {
	a, err := LocalAddress("https://127.0.0.1:8788")
	if err != nil || !a.IsLoopback() || !a.Is4() {
		t.Fatalf("towards 127.0.0.1: %v, %v", a, err)
	}
}
