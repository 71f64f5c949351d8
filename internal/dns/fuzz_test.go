package dns

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
)

// recorder is a ResponseWriter that keeps what the handler writes.
type recorder struct {
	local net.Addr
	msgs  []*mdns.Msg
}

func (w *recorder) LocalAddr() net.Addr        { return w.local }
func (w *recorder) RemoteAddr() net.Addr       { return &net.UDPAddr{IP: net.IPv4(10, 0, 1, 5), Port: 5353} }
func (w *recorder) WriteMsg(m *mdns.Msg) error { w.msgs = append(w.msgs, m); return nil }
func (w *recorder) Write([]byte) (int, error)  { return 0, nil }
func (w *recorder) Close() error               { return nil }
func (w *recorder) TsigStatus() error          { return nil }
func (w *recorder) TsigTimersOnly(bool)        {}
func (w *recorder) Hijack()                    {}

// FuzzServeDNS feeds raw packets to the handler, as the server does after
// decoding them, over UDP and TCP: it must never panic, and every response must
// pack, carry the query's ID, fit the client's UDP buffer, and hold only records
// of the table.
func FuzzServeDNS(f *testing.F) {
	seed := func(name string, qtype uint16, edns uint16, mutate func(*mdns.Msg)) {
		m := new(mdns.Msg)
		m.SetQuestion(name, qtype)
		if edns > 0 {
			m.SetEdns0(edns, true)
		}
		if mutate != nil {
			mutate(m)
		}
		if b, err := m.Pack(); err == nil {
			f.Add(b)
		}
	}
	rev, _ := mdns.ReverseAddr("10.0.1.10")
	seed("db.example.com.", mdns.TypeA, 0, nil)
	seed("DB.EXAMPLE.COM.", mdns.TypeAAAA, 4096, nil)
	seed("huge.example.com.", mdns.TypeA, 0, nil)
	seed("huge.example.com.", mdns.TypeANY, 1232, nil)
	seed("nope.example.com.", mdns.TypeA, 0, nil)
	seed("example.com.", mdns.TypeSOA, 0, nil)
	seed(rev, mdns.TypePTR, 0, nil)
	seed("example.org.", mdns.TypeMX, 0, nil)
	seed("db.example.com.", mdns.TypeA, 1232, func(m *mdns.Msg) { m.IsEdns0().SetVersion(1) })
	seed("db.example.com.", mdns.TypeA, 512, func(m *mdns.Msg) { m.Extra = append(m.Extra, m.Extra[0]) })
	seed("db.example.com.", mdns.TypeA, 0, func(m *mdns.Msg) { m.Opcode = mdns.OpcodeNotify })
	seed("db.example.com.", mdns.TypeA, 0, func(m *mdns.Msg) { m.Question = append(m.Question, m.Question[0]) })
	seed("db.example.com.", mdns.TypeA, 0, func(m *mdns.Msg) { m.Question[0].Qclass = mdns.ClassCHAOS })
	seed("db.example.com.", mdns.TypeA, 0, func(m *mdns.Msg) { m.Question = nil })
	f.Add([]byte{})
	f.Add([]byte("\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01"))

	s := New(nil)
	records := testRecords()
	s.SetRecords(records)
	known := map[string][]netip.Addr{}
	for name, addrs := range records {
		for _, a := range addrs {
			known[canonical(name)] = append(known[canonical(name)], a.Unmap())
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req := new(mdns.Msg)
		if err := req.Unpack(raw); err != nil {
			return // the server answers FORMERR (or nothing) before the handler
		}
		for _, local := range []net.Addr{&net.UDPAddr{Port: 53}, &net.TCPAddr{Port: 53}} {
			w := &recorder{local: local}
			s.serveDNS(w, req)
			if req.Response {
				if len(w.msgs) != 0 {
					t.Fatal("answered a response")
				}
				continue
			}
			if len(w.msgs) != 1 {
				t.Fatalf("%d responses", len(w.msgs))
			}
			checkResponse(t, req, w.msgs[0], local.Network() == "udp", known)
		}
	})
}

func checkResponse(t *testing.T, req, resp *mdns.Msg, udp bool, known map[string][]netip.Addr) {
	t.Helper()
	wire, err := resp.Pack()
	if err != nil {
		t.Fatalf("response does not pack: %v\n%v", err, resp)
	}
	if !resp.Response || resp.Id != req.Id {
		t.Fatalf("response flag %v id %d for query id %d", resp.Response, resp.Id, req.Id)
	}
	if udp {
		limit := mdns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			limit = min(max(int(opt.UDPSize()), mdns.MinMsgSize), udpSize)
		}
		if len(wire) > limit {
			t.Fatalf("UDP response of %d octets for a %d-octet buffer", len(wire), limit)
		}
	}
	back := new(mdns.Msg)
	if err := back.Unpack(wire); err != nil {
		t.Fatalf("response does not unpack: %v", err)
	}
	if len(resp.Answer) > 0 && resp.Rcode != mdns.RcodeSuccess {
		t.Fatalf("answers with rcode %s", mdns.RcodeToString[resp.Rcode])
	}
	for _, rr := range resp.Answer {
		name := strings.ToLower(rr.Header().Name)
		if len(req.Question) == 0 || name != strings.ToLower(req.Question[0].Name) {
			t.Fatalf("answer %v for question %v", rr, req.Question)
		}
		switch rr := rr.(type) {
		case *mdns.A:
			ip, _ := netip.AddrFromSlice(rr.A)
			if !slices.Contains(known[name], ip.Unmap()) {
				t.Fatalf("answer %v is not a record", rr)
			}
		case *mdns.PTR:
			if _, ok := known[rr.Ptr]; !ok {
				t.Fatalf("PTR %v to an unknown name", rr)
			}
		case *mdns.SOA:
		default:
			t.Fatalf("unexpected answer %v", rr)
		}
	}
}
