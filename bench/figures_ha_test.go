package main

import (
	"os"
	"path/filepath"
	"testing"
)

// readLog follows a replica's leadership from its log, line by line as they
// are written, and leaves a line not yet ended for the next read.
func TestReadLogLeadership(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "s1.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := &haReplica{name: "s1", srv: &straitServer{log: f}}
	step := func(text string, want bool) {
		t.Helper()
		if _, err := f.WriteString(text); err != nil {
			t.Fatal(err)
		}
		r.readLog()
		if r.leads != want {
			t.Fatalf("after %q: leads %v, want %v", text, r.leads, want)
		}
	}
	step(`time=2026-12-06T20:23:04Z level=INFO msg="strait server ready" replica=follower`+"\n", false)
	step(`time=2026-12-06T20:23:05Z level=INFO msg="leader: this replica leads" name=s1`+"\n", true)
	step(`time=2026-12-06T20:23:06Z level=INFO msg="leader: this replica no longer`, true) // not ended yet
	step(` leads" name=s1 why=resigning`+"\n", false)
	step(`time=2026-12-06T20:23:07Z level=INFO msg="leader: this replica leads" name=s1`+"\n"+
		`time=2026-12-06T20:23:08Z level=INFO msg="leader: this replica no longer leads" why=lost`+"\n"+
		`time=2026-12-06T20:23:09Z level=INFO msg="leader: this replica leads" name=s1`+"\n", true)
}
