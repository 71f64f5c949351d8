package dns

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// testRecords are the records most tests serve: an endpoint's regional and zonal
// names, a private DNS name on the same addresses, and an instance.
func testRecords() map[string][]netip.Addr {
	a, b := netip.MustParseAddr("10.0.1.10"), netip.MustParseAddr("10.0.2.10")
	return map[string][]netip.Addr{
		"vpce-0123456789abcdef0-abcd1234.vpce-svc-0123456789abcdef0.us-east-1.vpce.amazonaws.com.":            {a, b},
		"vpce-0123456789abcdef0-abcd1234-us-east-1a.vpce-svc-0123456789abcdef0.us-east-1.vpce.amazonaws.com.": {a},
		"db.example.com.":             {a, b},
		"ip-10-0-1-5.ec2.internal.":   {netip.MustParseAddr("10.0.1.5")},
		"many.example.com.":           manyAddrs(50),
		"huge.example.com.":           manyAddrs(200),
		"empty.example.com.":          nil,
		"mixed.example.com.":          {netip.MustParseAddr("10.0.3.3"), netip.MustParseAddr("fd00::1")},
		"UPPER.Example.COM":           {netip.MustParseAddr("10.0.4.4")},
		"bad name with spaces.":       {netip.MustParseAddr("10.0.5.5")},
		"mapped.example.com.":         {netip.MustParseAddr("::ffff:10.0.6.6")},
		"x.db.example.com.":           {netip.MustParseAddr("10.0.7.7")},
		"ip-10-0-1-6.ec2.internal.":   {netip.MustParseAddr("10.0.1.6")},
		"z-other-name.ec2.internal.":  {netip.MustParseAddr("10.0.1.6")},
		"a-longer-name.ec2.internal.": {netip.MustParseAddr("10.0.1.6")},
	}
}

func manyAddrs(n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = netip.AddrFrom4([4]byte{10, 9, byte(i / 250), byte(1 + i%250)})
	}
	return out
}

// startServer serves s over UDP and TCP on one loopback port and returns it.
func startServer(t *testing.T, s *Server) string {
	t.Helper()
	var pc net.PacketConn
	var ln net.Listener
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p, err := net.ListenPacket("udp", l.Addr().String())
		if err != nil {
			l.Close()
			continue // the UDP port is taken: try another
		}
		pc, ln = p, l
		break
	}
	if pc == nil {
		t.Fatal("no loopback port free for both UDP and TCP")
	}
	addr := ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- s.Serve(pc, ln) }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve returned %v after Close", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	return addr
}

func newTestServer(t *testing.T) (*Server, string) {
	t.Helper()
	s := New(nil)
	s.SetRecords(testRecords())
	return s, startServer(t, s)
}

// query asks one question over net ("udp" or "tcp"), with an EDNS0 buffer of
// edns octets when edns > 0.
func query(t *testing.T, addr, network, name string, qtype uint16, edns uint16) *mdns.Msg {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	if edns > 0 {
		m.SetEdns0(edns, false)
	}
	c := &mdns.Client{Net: network, Timeout: 3 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s %s: %v", network, name, mdns.TypeToString[qtype], err)
	}
	if r.Id != m.Id || !r.Response {
		t.Fatalf("%s %s: reply id %d response %v, want id %d", network, name, r.Id, r.Response, m.Id)
	}
	return r
}

func answerAddrs(t *testing.T, r *mdns.Msg) []string {
	t.Helper()
	var out []string
	for _, rr := range r.Answer {
		a, ok := rr.(*mdns.A)
		if !ok {
			t.Fatalf("answer %v is not an A record", rr)
		}
		if a.Hdr.Ttl != TTL {
			t.Errorf("TTL %d, want %d", a.Hdr.Ttl, TTL)
		}
		out = append(out, a.A.String())
	}
	slices.Sort(out)
	return out
}

func TestAKnownName(t *testing.T) {
	_, addr := newTestServer(t)
	for _, network := range []string{"udp", "tcp"} {
		r := query(t, addr, network, "db.example.com.", mdns.TypeA, 0)
		if r.Rcode != mdns.RcodeSuccess || !r.Authoritative || !r.RecursionAvailable {
			t.Fatalf("%s: rcode %s aa %v ra %v", network, mdns.RcodeToString[r.Rcode], r.Authoritative, r.RecursionAvailable)
		}
		if got := answerAddrs(t, r); !slices.Equal(got, []string{"10.0.1.10", "10.0.2.10"}) {
			t.Errorf("%s: answers %v", network, got)
		}
		if len(r.Ns) != 0 {
			t.Errorf("%s: authority %v on a positive answer", network, r.Ns)
		}
	}
	zonal := "vpce-0123456789abcdef0-abcd1234-us-east-1a.vpce-svc-0123456789abcdef0.us-east-1.vpce.amazonaws.com."
	if got := answerAddrs(t, query(t, addr, "udp", zonal, mdns.TypeA, 0)); !slices.Equal(got, []string{"10.0.1.10"}) {
		t.Errorf("zonal name: %v", got)
	}
}

func TestCaseInsensitive(t *testing.T) {
	_, addr := newTestServer(t)
	r := query(t, addr, "udp", "Db.EXAMPLE.com.", mdns.TypeA, 0)
	if got := answerAddrs(t, r); len(got) != 2 {
		t.Fatalf("answers %v", got)
	}
	if name := r.Answer[0].Header().Name; name != "Db.EXAMPLE.com." {
		t.Errorf("owner %q: the answer should echo the question's spelling", name)
	}
	// A record given in upper case without the trailing dot is served too.
	if got := answerAddrs(t, query(t, addr, "udp", "upper.example.com.", mdns.TypeA, 0)); !slices.Equal(got, []string{"10.0.4.4"}) {
		t.Errorf("upper-case record: %v", got)
	}
}

func TestNoDataHasSOA(t *testing.T) {
	_, addr := newTestServer(t)
	for _, qtype := range []uint16{mdns.TypeAAAA, mdns.TypeTXT, mdns.TypeMX, mdns.TypeNS} {
		r := query(t, addr, "udp", "db.example.com.", qtype, 0)
		if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 0 || !r.Authoritative {
			t.Fatalf("%s: rcode %s answers %v aa %v", mdns.TypeToString[qtype], mdns.RcodeToString[r.Rcode], r.Answer, r.Authoritative)
		}
		// db.example.com. is the apex of its own zone too (x.db.example.com. is a record).
		checkSOA(t, r, "db.example.com.")
	}
	r := query(t, addr, "udp", "ip-10-0-1-5.ec2.internal.", mdns.TypeAAAA, 0)
	if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 0 {
		t.Fatalf("instance AAAA: rcode %s answers %v", mdns.RcodeToString[r.Rcode], r.Answer)
	}
	checkSOA(t, r, "ec2.internal.")
	// A name given without any IPv4 address exists, with no A records.
	r = query(t, addr, "udp", "empty.example.com.", mdns.TypeA, 0)
	if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 0 {
		t.Fatalf("empty name: rcode %s answers %v", mdns.RcodeToString[r.Rcode], r.Answer)
	}
	// Non-IPv4 addresses are dropped; IPv4-mapped ones are served as IPv4.
	if got := answerAddrs(t, query(t, addr, "udp", "mixed.example.com.", mdns.TypeA, 0)); !slices.Equal(got, []string{"10.0.3.3"}) {
		t.Errorf("mixed: %v", got)
	}
	if r := query(t, addr, "udp", "mixed.example.com.", mdns.TypeAAAA, 0); len(r.Answer) != 0 {
		t.Errorf("mixed AAAA: %v", r.Answer)
	}
	if got := answerAddrs(t, query(t, addr, "udp", "mapped.example.com.", mdns.TypeA, 0)); !slices.Equal(got, []string{"10.0.6.6"}) {
		t.Errorf("mapped: %v", got)
	}
}

func checkSOA(t *testing.T, r *mdns.Msg, zone string) {
	t.Helper()
	if len(r.Ns) != 1 {
		t.Fatalf("authority %v, want one SOA of %s", r.Ns, zone)
	}
	soa, ok := r.Ns[0].(*mdns.SOA)
	if !ok || soa.Hdr.Name != zone || soa.Minttl != TTL || soa.Hdr.Ttl != TTL {
		t.Fatalf("authority %v, want the SOA of %s", r.Ns[0], zone)
	}
}

func TestNXDomain(t *testing.T) {
	_, addr := newTestServer(t)
	inZone := []struct{ name, zone string }{
		{"nope.example.com.", "example.com."},
		{"deeper.nope.example.com.", "example.com."},
		{"sub.db.example.com.", "db.example.com."}, // x.db.example.com. makes db.example.com. a zone
		{"vpce-0123456789abcdef1-zzzz9999.vpce-svc-0123456789abcdef0.us-east-1.vpce.amazonaws.com.", "vpce-svc-0123456789abcdef0.us-east-1.vpce.amazonaws.com."},
		{"ip-10-0-9-9.ec2.internal.", "ec2.internal."},
	}
	for _, c := range inZone {
		r := query(t, addr, "udp", c.name, mdns.TypeA, 0)
		if r.Rcode != mdns.RcodeNameError || len(r.Answer) != 0 || !r.Authoritative {
			t.Errorf("%s: rcode %s answers %v aa %v", c.name, mdns.RcodeToString[r.Rcode], r.Answer, r.Authoritative)
			continue
		}
		checkSOA(t, r, c.zone)
	}
	// Nothing is forwarded: names outside the VPC's zones do not exist.
	for _, name := range []string{"example.org.", "amazonaws.com.", "www.google.com.", "com.", ".", "localhost."} {
		for _, qtype := range []uint16{mdns.TypeA, mdns.TypeAAAA, mdns.TypeNS, mdns.TypeSOA} {
			r := query(t, addr, "udp", name, qtype, 0)
			if r.Rcode != mdns.RcodeNameError || len(r.Answer) != 0 || len(r.Ns) != 0 || r.Authoritative {
				t.Errorf("%s %s: rcode %s answers %v authority %v aa %v", name, mdns.TypeToString[qtype],
					mdns.RcodeToString[r.Rcode], r.Answer, r.Ns, r.Authoritative)
			}
		}
	}
}

func TestZoneApex(t *testing.T) {
	_, addr := newTestServer(t)
	r := query(t, addr, "udp", "example.com.", mdns.TypeSOA, 0)
	if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != mdns.TypeSOA {
		t.Fatalf("SOA at apex: rcode %s answers %v", mdns.RcodeToString[r.Rcode], r.Answer)
	}
	r = query(t, addr, "udp", "example.com.", mdns.TypeA, 0)
	if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 0 {
		t.Fatalf("A at apex: rcode %s answers %v", mdns.RcodeToString[r.Rcode], r.Answer)
	}
	checkSOA(t, r, "example.com.")
}

func TestReverse(t *testing.T) {
	_, addr := newTestServer(t)
	cases := map[string]string{
		"10.0.1.10": "db.example.com.", // shortest of the names on the address
		"10.0.1.5":  "ip-10-0-1-5.ec2.internal.",
		"10.0.1.6":  "ip-10-0-1-6.ec2.internal.", // same length as z-other-name: alphabetical
		"10.0.7.7":  "x.db.example.com.",
	}
	for ip, want := range cases {
		rev, _ := mdns.ReverseAddr(ip)
		r := query(t, addr, "udp", rev, mdns.TypePTR, 0)
		if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 1 || !r.Authoritative {
			t.Fatalf("%s: rcode %s answers %v", ip, mdns.RcodeToString[r.Rcode], r.Answer)
		}
		if ptr, ok := r.Answer[0].(*mdns.PTR); !ok || ptr.Ptr != want || ptr.Hdr.Ttl != TTL {
			t.Errorf("%s: %v, want PTR %s", ip, r.Answer[0], want)
		}
		// Other types at a reverse name are NODATA.
		if r := query(t, addr, "udp", rev, mdns.TypeA, 0); r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 0 {
			t.Errorf("%s A: rcode %s answers %v", rev, mdns.RcodeToString[r.Rcode], r.Answer)
		}
	}
	for _, ip := range []string{"10.0.1.99", "192.168.1.1", "fd00::1", "10.0.5.5"} {
		rev, _ := mdns.ReverseAddr(ip)
		r := query(t, addr, "udp", rev, mdns.TypePTR, 0)
		if r.Rcode != mdns.RcodeNameError || len(r.Answer) != 0 {
			t.Errorf("%s: rcode %s answers %v, want NXDOMAIN", ip, mdns.RcodeToString[r.Rcode], r.Answer)
		}
	}
}

func TestEDNS0(t *testing.T) {
	_, addr := newTestServer(t)
	r := query(t, addr, "udp", "db.example.com.", mdns.TypeA, 4096)
	opt := r.IsEdns0()
	if opt == nil || opt.UDPSize() != udpSize || opt.Version() != 0 {
		t.Fatalf("OPT in response: %v", opt)
	}
	if r := query(t, addr, "udp", "db.example.com.", mdns.TypeA, 0); r.IsEdns0() != nil {
		t.Errorf("OPT in a response to a query without one")
	}
	// The DO bit is echoed.
	m := new(mdns.Msg)
	m.SetQuestion("db.example.com.", mdns.TypeA)
	m.SetEdns0(1232, true)
	r, _, err := (&mdns.Client{Timeout: 3 * time.Second}).Exchange(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	if opt := r.IsEdns0(); opt == nil || !opt.Do() {
		t.Errorf("DO bit not echoed: %v", opt)
	}
	// An unknown EDNS version is BADVERS.
	m = new(mdns.Msg)
	m.SetQuestion("db.example.com.", mdns.TypeA)
	m.SetEdns0(1232, false)
	m.IsEdns0().SetVersion(1)
	r, _, err = (&mdns.Client{Timeout: 3 * time.Second}).Exchange(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	if r.Rcode != mdns.RcodeBadVers || len(r.Answer) != 0 {
		t.Errorf("EDNS version 1: rcode %s answers %v", mdns.RcodeToString[r.Rcode], r.Answer)
	}
}

func TestTruncation(t *testing.T) {
	_, addr := newTestServer(t)
	// 50 addresses need ~850 octets: too many for 512, enough for EDNS0.
	r := query(t, addr, "udp", "many.example.com.", mdns.TypeA, 0)
	if !r.Truncated || len(r.Answer) >= 50 {
		t.Errorf("plain UDP: TC %v with %d answers, want truncated", r.Truncated, len(r.Answer))
	}
	r = query(t, addr, "udp", "many.example.com.", mdns.TypeA, 4096)
	if r.Truncated || len(r.Answer) != 50 {
		t.Errorf("EDNS0 UDP: TC %v with %d answers, want all 50", r.Truncated, len(r.Answer))
	}
	// 200 addresses exceed even the EDNS0 buffer; TCP carries them all.
	r = query(t, addr, "udp", "huge.example.com.", mdns.TypeA, 4096)
	r.Compress = true
	if !r.Truncated || r.Len() > udpSize || len(r.Answer) == 0 {
		t.Errorf("EDNS0 UDP: TC %v, %d octets", r.Truncated, r.Len())
	}
	r = query(t, addr, "tcp", "huge.example.com.", mdns.TypeA, 0)
	if r.Truncated || len(r.Answer) != 200 {
		t.Errorf("TCP: TC %v with %d answers, want all 200", r.Truncated, len(r.Answer))
	}
	if got, want := answerAddrs(t, r), manyStrings(200); !slices.Equal(got, want) {
		t.Errorf("TCP answers differ from the records")
	}
	// A UDP client that retries over TCP on TC (as resolvers do) gets everything.
	if r := query(t, addr, "tcp", "many.example.com.", mdns.TypeA, 0); len(r.Answer) != 50 {
		t.Errorf("TCP: %d answers", len(r.Answer))
	}
}

func manyStrings(n int) []string {
	var out []string
	for _, a := range manyAddrs(n) {
		out = append(out, a.String())
	}
	slices.Sort(out)
	return out
}

func TestSetRecordsWhileServing(t *testing.T) {
	s, addr := newTestServer(t)
	gens := []map[string][]netip.Addr{
		{"svc.example.com.": {netip.MustParseAddr("10.1.0.1")}, "a.example.com.": {netip.MustParseAddr("10.1.0.9")}},
		{"svc.example.com.": {netip.MustParseAddr("10.2.0.1"), netip.MustParseAddr("10.2.0.2")}},
	}
	// The first generation is in place before any query: newTestServer's
	// records have no svc.example.com.
	s.SetRecords(gens[0])
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
				s.SetRecords(gens[i%2])
			}
		}
	})
	allowed := map[string]bool{"10.1.0.1": true, "10.2.0.1,10.2.0.2": true}
	for range 200 {
		r := query(t, addr, "udp", "svc.example.com.", mdns.TypeA, 0)
		if got := strings.Join(answerAddrs(t, r), ","); !allowed[got] {
			t.Fatalf("answer %s mixes generations", got)
		}
	}
	close(stop)
	wg.Wait()
	s.SetRecords(gens[1])
	if r := query(t, addr, "udp", "a.example.com.", mdns.TypeA, 0); r.Rcode != mdns.RcodeNameError {
		t.Errorf("a removed name: rcode %s", mdns.RcodeToString[r.Rcode])
	}
	if r := query(t, addr, "udp", "db.example.com.", mdns.TypeA, 0); r.Rcode != mdns.RcodeNameError {
		t.Errorf("a name of the first records: rcode %s", mdns.RcodeToString[r.Rcode])
	}
	s.SetRecords(nil)
	if r := query(t, addr, "udp", "svc.example.com.", mdns.TypeA, 0); r.Rcode != mdns.RcodeNameError {
		t.Errorf("after SetRecords(nil): rcode %s", mdns.RcodeToString[r.Rcode])
	}
}

func TestMalformedPackets(t *testing.T) {
	_, addr := newTestServer(t)
	good := new(mdns.Msg)
	good.SetQuestion("db.example.com.", mdns.TypeA)
	raw, err := good.Pack()
	if err != nil {
		t.Fatal(err)
	}
	twoQuestions := good.Copy()
	twoQuestions.Question = append(twoQuestions.Question, mdns.Question{Name: "x.example.com.", Qtype: mdns.TypeA, Qclass: mdns.ClassINET})
	rawTwo, err := twoQuestions.Pack()
	if err != nil {
		t.Fatal(err)
	}
	// exchange sends b from a fresh socket (a late reply cannot be taken for the
	// next one's) and, with a marker, a well-formed query after it. It returns the
	// first reply that is not the marker's; without a marker it waits for a reply
	// however slow, with one it stops at the marker's reply: b had none by then
	// (the server may answer packets in any order, so a late reply to junk goes
	// unseen, never mistaken).
	exchange := func(b []byte, marker bool) *mdns.Msg {
		t.Helper()
		conn, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
		m := new(mdns.Msg)
		m.SetQuestion("marker.example.com.", mdns.TypeA)
		m.Id = 0xbeef
		if marker {
			rawMarker, _ := m.Pack()
			if _, err := conn.Write(rawMarker); err != nil {
				t.Fatal(err)
			}
		}
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		buf := make([]byte, 65535)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no reply to %x (marker %v): %v", b, marker, err)
		}
		r := new(mdns.Msg)
		if err := r.Unpack(buf[:n]); err != nil {
			t.Fatalf("unparsable reply %x: %v", buf[:n], err)
		}
		if marker && r.Id == m.Id && len(r.Question) == 1 && r.Question[0].Name == m.Question[0].Name {
			return nil
		}
		return r
	}
	// send is for packets that must be answered, maybe for those that may be ignored.
	send := func(b []byte) *mdns.Msg { t.Helper(); return exchange(b, false) }
	maybe := func(b []byte) *mdns.Msg { t.Helper(); return exchange(b, true) }
	for _, junk := range [][]byte{
		{}, {0x01}, []byte("hello, world"),
		raw[:len(raw)-3], // question cut short
		append(slices.Clone(raw[:12]), 0xc0, 0x0c, 0, 1, 0, 1), // compression pointer loop
	} {
		if r := maybe(junk); r != nil && r.Rcode != mdns.RcodeFormatError && r.Rcode != mdns.RcodeNotImplemented {
			t.Errorf("junk %x: reply rcode %s, want none, FORMERR or NOTIMP", junk, mdns.RcodeToString[r.Rcode])
		}
	}
	if r := send(rawTwo); r == nil || r.Rcode != mdns.RcodeFormatError {
		t.Errorf("two questions: %v, want FORMERR", r)
	}
	notify := good.Copy()
	notify.Opcode = mdns.OpcodeNotify
	rawNotify, _ := notify.Pack()
	if r := send(rawNotify); r == nil || r.Rcode != mdns.RcodeNotImplemented {
		t.Errorf("NOTIFY: %v, want NOTIMP", r)
	}
	update := good.Copy()
	update.Opcode = mdns.OpcodeUpdate
	rawUpdate, _ := update.Pack()
	if r := send(rawUpdate); r == nil || r.Rcode != mdns.RcodeNotImplemented {
		t.Errorf("UPDATE: %v, want NOTIMP", r)
	}
	response := good.Copy()
	response.Response = true
	rawResponse, _ := response.Pack()
	if r := maybe(rawResponse); r != nil {
		t.Errorf("a response was answered: %v", r)
	}
	if r := query(t, addr, "tcp", "example.com.", mdns.TypeAXFR, 0); r.Rcode != mdns.RcodeRefused || len(r.Answer) != 0 {
		t.Errorf("AXFR: rcode %s answers %d", mdns.RcodeToString[r.Rcode], len(r.Answer))
	}
	chaos := new(mdns.Msg)
	chaos.Question = []mdns.Question{{Name: "version.bind.", Qtype: mdns.TypeTXT, Qclass: mdns.ClassCHAOS}}
	rawChaos, _ := chaos.Pack()
	if r := send(rawChaos); r == nil || r.Rcode != mdns.RcodeRefused || len(r.Answer) != 0 {
		t.Errorf("CHAOS version.bind: %v, want REFUSED", r)
	}
	// The server still answers.
	if r := send(raw); r == nil || len(r.Answer) != 2 {
		t.Fatalf("after junk: %v", r)
	}
}

func TestServeLifecycle(t *testing.T) {
	s := New(nil)
	if err := s.Serve(nil, nil); err == nil {
		t.Error("Serve(nil, nil) succeeded")
	}
	// UDP only.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(pc, nil) }()
	s.SetRecords(map[string][]netip.Addr{"one.example.com.": {netip.MustParseAddr("10.0.0.1")}})
	if got := answerAddrs(t, query(t, pc.LocalAddr().String(), "udp", "one.example.com.", mdns.TypeA, 0)); !slices.Equal(got, []string{"10.0.0.1"}) {
		t.Fatalf("answers %v", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
	// The socket was closed: it can be bound again.
	again, err := net.ListenPacket("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatalf("port still bound after Close: %v", err)
	}
	again.Close()
	// Serving a closed server fails at once and closes what it was given.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(nil, ln); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve after Close: %v, want net.ErrClosed", err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Error("the listener is still open")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// A Close racing with Serve's start-up stops it all the same.
func TestCloseRacingServe(t *testing.T) {
	for range 20 {
		s := New(nil)
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- s.Serve(pc, ln) }()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-served:
			if err != nil && !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Serve did not return after Close")
		}
	}
}
