package main

import (
	"strings"
	"testing"
)

// The etcd cluster flags of `strait server` are checked before anything
// starts, and a wrong combination says which flag is at fault.
func TestServerEtcdClusterFlags(t *testing.T) {
	c := newCLI(t, nil, "")
	dir := t.TempDir()
	base := []string{"server", "--dataplane", "none", "--listen", "127.0.0.1:0", "--data-dir", dir}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--etcd-initial-cluster", "a=http://127.0.0.1:2380"}, "--etcd-name is required"},
		{[]string{"--etcd-name", "a", "--etcd-initial-cluster", "a=http://127.0.0.1:2380"}, "--etcd-peer-listen is required"},
		{[]string{"--etcd-name", "a", "--etcd-peer-listen", "http://127.0.0.1:2380"}, "needs --etcd-initial-cluster"},
		{[]string{"--etcd-name", "a", "--etcd-peer-listen", "http://127.0.0.1:2380", "--etcd-initial-cluster", "b=http://127.0.0.1:2381"}, "does not name this member as a=http://127.0.0.1:2380"},
		{[]string{"--etcd-name", "a", "--etcd-peer-listen", "http://127.0.0.1:2380", "--etcd-initial-cluster", "a=http://127.0.0.1:2380", "--etcd-join", "http://127.0.0.1:2379"}, "exclude each other"},
		{[]string{"--etcd-name", "a", "--etcd-peer-listen", "127.0.0.1:2380", "--etcd-join", "http://127.0.0.1:2379"}, "--etcd-peer-listen \"127.0.0.1:2380\""},
		{[]string{"--etcd-endpoints", "http://127.0.0.1:2379", "--etcd-name", "a"}, "--etcd-endpoints (an external etcd cluster) excludes --etcd-name"},
	} {
		args := append(append([]string{}, base...), tc.args...)
		if msg := c.fail(args...); !strings.Contains(msg, tc.want) {
			t.Errorf("strait %s: %q, want %q", strings.Join(tc.args, " "), msg, tc.want)
		}
	}
}

// Without any cluster flag the embedded etcd stays a single member.
func TestServerEtcdSingleMember(t *testing.T) {
	m, err := etcdMemberFlags{}.member(false)
	if err != nil || !m.IsZero() {
		t.Fatalf("no flags: %+v, %v; want the zero Member", m, err)
	}
	m, err = etcdMemberFlags{name: "a", peer: "http://127.0.0.1:2380", join: "http://127.0.0.1:2379,http://127.0.0.1:2479"}.member(false)
	if err != nil || len(m.Join) != 2 {
		t.Fatalf("--etcd-join with two URLs: %+v, %v", m, err)
	}
}
