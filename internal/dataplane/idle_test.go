package dataplane

import (
	"testing"
	"time"
)

// A listener's idle timeout (tcp.idle_timeout.seconds, see
// https://docs.aws.amazon.com/elasticloadbalancing/latest/network/update-idle-timeout.html)
// closes the connections that moved no byte either way for that long; a new
// value applies to connections already open, and another listener's
// connections, idle just as long, keep theirs (350 s by default).
func TestListenerIdleTimeout(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tt := startTarget(t, "a", "127.0.0.11", modeEcho)
	config := func(idle80 time.Duration) Config {
		c := oneLB(map[string]string{"us-east-1a": "127.0.0.21"}, false, TargetGroup{Targets: []Target{tt.asTarget("us-east-1a")}})
		c.LoadBalancers[0].Listeners = []Listener{{Port: 80, TargetGroup: testTG, IdleTimeout: idle80}, {Port: 81, TargetGroup: testTG}}
		return c
	}
	r.p.Configure(config(time.Hour))
	entry := func(port uint16) Entry {
		return Entry{EndpointID: "vpce-0123456789abcdef0", ServiceID: "vpce-svc-0123456789abcdef0", AZ: "us-east-1a", LoadBalancer: testLB, Port: port}
	}
	short := dialFrom(t, "127.0.0.1", r.serve(t, "127.0.0.1", entry(80)))
	other := dialFrom(t, "127.0.0.1", r.serve(t, "127.0.0.1", entry(81)))
	if err := echoOnce(short, "hello"); err != nil {
		t.Fatal(err)
	}
	if err := echoOnce(other, "hello"); err != nil {
		t.Fatal(err)
	}
	// Listener 80's timeout drops from an hour to a second: its open connection,
	// idle since the echo, is closed at the next scan.
	r.p.Configure(config(time.Second))
	waitClosed(t, short)
	if err := echoOnce(other, "still open"); err != nil {
		t.Fatalf("the other listener's connection, idle as long, was closed too: %v", err)
	}
}
