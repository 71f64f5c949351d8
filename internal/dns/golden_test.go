package dns

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGolden asks a fixed list of questions over the wire and compares the
// answers, in dig-like text with the records sorted (the server shuffles A
// records) and the message ID left out, with testdata/answers.golden.
func TestGolden(t *testing.T) {
	_, addr := newTestServer(t)
	rev := func(ip string) string { r, _ := mdns.ReverseAddr(ip); return r }
	cases := []struct {
		name  string
		qtype uint16
		net   string
		edns  uint16
	}{
		{"db.example.com.", mdns.TypeA, "udp", 0},
		{"DB.Example.Com.", mdns.TypeA, "udp", 1232},
		{"db.example.com.", mdns.TypeAAAA, "udp", 0},
		{"db.example.com.", mdns.TypeTXT, "tcp", 0},
		{"vpce-0123456789abcdef0-abcd1234.vpce-svc-0123456789abcdef0.us-east-1.vpce.amazonaws.com.", mdns.TypeA, "udp", 0},
		{"vpce-0123456789abcdef0-abcd1234-us-east-1a.vpce-svc-0123456789abcdef0.us-east-1.vpce.amazonaws.com.", mdns.TypeANY, "udp", 0},
		{"vpce-0123456789abcdef0-zzzz.vpce-svc-0123456789abcdef0.us-east-1.vpce.amazonaws.com.", mdns.TypeA, "udp", 0},
		{"ip-10-0-1-5.ec2.internal.", mdns.TypeA, "tcp", 0},
		{"nope.example.com.", mdns.TypeA, "udp", 0},
		{"example.com.", mdns.TypeSOA, "udp", 0},
		{"example.org.", mdns.TypeA, "udp", 0},
		{"amazonaws.com.", mdns.TypeNS, "udp", 0},
		{rev("10.0.1.10"), mdns.TypePTR, "udp", 0},
		{rev("10.0.1.6"), mdns.TypePTR, "udp", 0},
		{rev("10.0.1.99"), mdns.TypePTR, "udp", 0},
		{rev("8.8.8.8"), mdns.TypePTR, "udp", 0},
		{"many.example.com.", mdns.TypeA, "udp", 0},
		{"example.com.", mdns.TypeAXFR, "tcp", 0},
	}
	var b strings.Builder
	for _, c := range cases {
		r := query(t, addr, c.net, c.name, c.qtype, c.edns)
		fmt.Fprintf(&b, ";; %s %s over %s", c.name, mdns.TypeToString[c.qtype], c.net)
		if c.edns > 0 {
			fmt.Fprintf(&b, " (EDNS0 %d)", c.edns)
		}
		fmt.Fprintf(&b, "\n;; status: %s, flags:%s, answers: %d\n", mdns.RcodeToString[r.Rcode], flags(r), len(r.Answer))
		if opt := r.IsEdns0(); opt != nil {
			fmt.Fprintf(&b, ";; OPT: version %d, udp %d\n", opt.Version(), opt.UDPSize())
		}
		if len(r.Answer) > 8 {
			fmt.Fprintf(&b, ";; (%d answers not shown)\n", len(r.Answer))
		} else {
			writeSection(&b, "ANSWER", r.Answer)
		}
		writeSection(&b, "AUTHORITY", r.Ns)
		b.WriteString("\n")
	}
	path := filepath.Join("testdata", "answers.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("answers differ from %s (run with -update after checking):\n%s", path, b.String())
	}
}

func flags(r *mdns.Msg) string {
	var f []string
	for _, x := range []struct {
		on   bool
		name string
	}{{r.Response, "qr"}, {r.Authoritative, "aa"}, {r.Truncated, "tc"}, {r.RecursionDesired, "rd"}, {r.RecursionAvailable, "ra"}} {
		if x.on {
			f = append(f, " "+x.name)
		}
	}
	return strings.Join(f, "")
}

func writeSection(b *strings.Builder, title string, rrs []mdns.RR) {
	if len(rrs) == 0 {
		return
	}
	lines := make([]string, len(rrs))
	for i, rr := range rrs {
		lines[i] = rr.String()
	}
	slices.Sort(lines)
	fmt.Fprintf(b, ";; %s:\n%s\n", title, strings.Join(lines, "\n"))
}
