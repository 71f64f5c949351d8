package dns

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"
)

// goResolver is Go's own stub resolver (what a Go program in the VPC uses, and
// like glibc's it asks A and AAAA together and retries over TCP on TC), pointed
// at the server.
func goResolver(addr string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

func TestStubResolver(t *testing.T) {
	_, addr := newTestServer(t)
	r := goResolver(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	hosts, err := r.LookupHost(ctx, "DB.example.com.")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(hosts)
	if !slices.Equal(hosts, []string{"10.0.1.10", "10.0.2.10"}) {
		t.Errorf("LookupHost: %v", hosts)
	}
	// 200 addresses: truncated over UDP, complete after the retry over TCP.
	if hosts, err := r.LookupHost(ctx, "huge.example.com."); err != nil || len(hosts) != 200 {
		t.Errorf("LookupHost huge: %d addresses, %v", len(hosts), err)
	}
	names, err := r.LookupAddr(ctx, "10.0.1.5")
	if err != nil || !slices.Equal(names, []string{"ip-10-0-1-5.ec2.internal."}) {
		t.Errorf("LookupAddr: %v, %v", names, err)
	}
	for _, name := range []string{"nope.example.com.", "www.example.org.", "localhost.localdomain."} {
		_, err := r.LookupHost(ctx, name)
		var dnsErr *net.DNSError
		if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
			t.Errorf("LookupHost %s: %v, want not found", name, err)
		}
	}
	if _, err := r.LookupAddr(ctx, "192.0.2.1"); err == nil {
		t.Error("LookupAddr of an unknown address succeeded")
	}
}
