package dns

import (
	"math/rand/v2"
	"strings"

	mdns "github.com/miekg/dns"
)

// TTL is the time to live of every record the resolver serves, and the
// negative-caching time of its SOA records.
const TTL = 60

// udpSize is the largest UDP response the resolver sends (the EDNS0 buffer size
// it advertises); without EDNS0 the limit is 512 octets.
const udpSize = 1232

// SOA fields of every zone the resolver serves.
const (
	soaNS      = "ns.strait.internal."
	soaMbox    = "hostmaster.strait.internal."
	soaRefresh = 7200
	soaRetry   = 900
	soaExpire  = 1209600
)

// serveDNS answers one query the miekg server decoded.
func (s *Server) serveDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	datagram := w.LocalAddr() == nil || !strings.HasPrefix(w.LocalAddr().Network(), "tcp")
	resp := s.respond(req, datagram)
	if resp == nil {
		return
	}
	if err := w.WriteMsg(resp); err != nil {
		s.log.Debug("dns: writing a response", "err", err, "client", w.RemoteAddr())
	}
}

// respond builds the response to req from the current records, or nil when req
// deserves none (it is itself a response). Over a datagram transport the
// response is truncated (TC set) to what the client can receive.
func (s *Server) respond(req *mdns.Msg, datagram bool) *mdns.Msg {
	if req.Response {
		return nil
	}
	resp := new(mdns.Msg)
	resp.SetReply(req)
	resp.RecursionAvailable = true
	resp.Compress = true
	limit := mdns.MinMsgSize
	opt, opts := ednsOf(req)
	switch {
	case opts > 1:
		return formErr(resp)
	case opt != nil && opt.Version() != 0:
		resp.SetEdns0(udpSize, opt.Do())
		resp.Rcode = mdns.RcodeBadVers
		return resp
	case opt != nil:
		limit = min(max(int(opt.UDPSize()), mdns.MinMsgSize), udpSize)
	}
	switch {
	case req.Opcode != mdns.OpcodeQuery:
		resp.Rcode = mdns.RcodeNotImplemented
	case len(req.Question) != 1:
		return withEdns(formErr(resp), opt)
	default:
		s.resolve(resp, req.Question[0])
	}
	withEdns(resp, opt)
	if datagram {
		resp.Truncate(limit)
	}
	return resp
}

// resolve fills resp with the answer to q.
func (s *Server) resolve(resp *mdns.Msg, q mdns.Question) {
	if q.Qclass != mdns.ClassINET && q.Qclass != mdns.ClassANY {
		resp.Rcode = mdns.RcodeRefused
		return
	}
	switch q.Qtype {
	case mdns.TypeAXFR, mdns.TypeIXFR:
		resp.Rcode = mdns.RcodeRefused // no zone transfers: the records are the VPC's own
		return
	}
	t := s.table.Load()
	res := t.lookup(strings.ToLower(q.Name), q.Qtype)
	resp.Rcode = res.rcode
	resp.Authoritative = res.auth
	hdr := func(name string, typ uint16) mdns.RR_Header {
		return mdns.RR_Header{Name: name, Rrtype: typ, Class: mdns.ClassINET, Ttl: TTL}
	}
	addrs := append(res.a[:0:0], res.a...)
	rand.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
	for _, ip := range addrs {
		resp.Answer = append(resp.Answer, &mdns.A{Hdr: hdr(q.Name, mdns.TypeA), A: ip.AsSlice()})
	}
	if res.ptr != "" {
		resp.Answer = append(resp.Answer, &mdns.PTR{Hdr: hdr(q.Name, mdns.TypePTR), Ptr: res.ptr})
	}
	if res.soa != "" {
		resp.Answer = append(resp.Answer, t.soa(q.Name))
	}
	if res.neg != "" {
		resp.Ns = append(resp.Ns, t.soa(res.neg))
	}
}

// soa is the SOA record of the zone at apex.
func (t *table) soa(apex string) *mdns.SOA {
	return &mdns.SOA{
		Hdr: mdns.RR_Header{Name: apex, Rrtype: mdns.TypeSOA, Class: mdns.ClassINET, Ttl: TTL},
		Ns:  soaNS, Mbox: soaMbox, Serial: t.serial,
		Refresh: soaRefresh, Retry: soaRetry, Expire: soaExpire, Minttl: TTL,
	}
}

// ednsOf returns the request's OPT record (the last one) and how many it has.
func ednsOf(req *mdns.Msg) (*mdns.OPT, int) {
	var opt *mdns.OPT
	n := 0
	for _, rr := range req.Extra {
		if o, ok := rr.(*mdns.OPT); ok {
			opt, n = o, n+1
		}
	}
	return opt, n
}

// withEdns adds an OPT record to resp when the request had one (RFC 6891),
// echoing its DO bit.
func withEdns(resp *mdns.Msg, opt *mdns.OPT) *mdns.Msg {
	if opt != nil && resp.IsEdns0() == nil {
		resp.SetEdns0(udpSize, opt.Do())
	}
	return resp
}

// formErr turns resp into a FORMERR without records.
func formErr(resp *mdns.Msg) *mdns.Msg {
	resp.Rcode = mdns.RcodeFormatError
	resp.Answer, resp.Ns, resp.Extra = nil, nil, nil
	return resp
}
