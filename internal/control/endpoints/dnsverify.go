package endpoints

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// SetResolver overrides Config.Resolver, the DNS server (host:port) that private
// DNS verification queries, at run time (tests point it at a local server); ""
// returns to Config.Resolver.
func (c *PrivateLink) SetResolver(addr string) {
	c.resolverMu.Lock()
	defer c.resolverMu.Unlock()
	c.resolver = addr
}

// verificationResolver is the DNS server verification queries: the override, else
// Config.Resolver, else the first nameserver of /etc/resolv.conf.
func (c *PrivateLink) verificationResolver() (string, error) {
	c.resolverMu.Lock()
	r := c.resolver
	c.resolverMu.Unlock()
	if r == "" {
		r = c.Config().Resolver
	}
	if r != "" {
		if _, _, err := net.SplitHostPort(r); err != nil {
			return net.JoinHostPort(r, "53"), nil
		}
		return r, nil
	}
	conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil || len(conf.Servers) == 0 {
		return "", fmt.Errorf("no DNS resolver configured and none in /etc/resolv.conf")
	}
	return net.JoinHostPort(conf.Servers[0], conf.Port), nil
}

// StartPrivateDNSVerification checks the TXT record that proves the provider owns
// the service's private DNS name: a record named <Name>.<domain> (the domain is the
// private DNS name without a leading "*.") whose value is <Value>. The state becomes
// verified or failed; on failure the verification's Detail says exactly which
// record was expected and what the resolver answered. The lookup runs outside the
// store transaction. A name that is already verified stays verified.
func (c *PrivateLink) StartPrivateDNSVerification(ctx context.Context, acct, id string) error {
	svc, err := c.EndpointService(ctx, acct, id)
	if err != nil {
		return err
	}
	if svc.PrivateDNSName == "" || svc.DNSVerification == nil {
		return invalidParameter("The VPC endpoint service %s has no private DNS name to verify", id)
	}
	v := *svc.DNSVerification
	if v.State == model.DNSVerified {
		return nil
	}
	state, detail := c.verifyTXT(ctx, v.Name+"."+strings.TrimPrefix(svc.PrivateDNSName, "*."), v.Value)
	c.Log().Info("private DNS verification", "service", id, "name", svc.PrivateDNSName, "state", state, "detail", detail)
	return c.Update(ctx, func(tx *store.Tx) error {
		cur, err := core.TxGet[model.EndpointService](tx, model.KindService, id)
		if err != nil {
			return err
		}
		if cur.DNSVerification == nil || cur.DNSVerification.Name != v.Name || cur.DNSVerification.Value != v.Value {
			return nil // the name changed meanwhile; this result is stale
		}
		cur.DNSVerification.State = state
		cur.DNSVerification.Detail = detail
		cur.DNSVerification.Since = c.Now().UTC()
		return tx.Put(core.Key(model.KindService, id), cur)
	})
}

// verifyTXT looks up the TXT records of name and reports verified when one of them
// is want, else failed with a description of what was expected and found.
func (c *PrivateLink) verifyTXT(ctx context.Context, name, want string) (state, detail string) {
	expect := fmt.Sprintf("expected a TXT record %s with value %q", name, want)
	server, err := c.verificationResolver()
	if err != nil {
		return model.DNSFailed, expect + ": " + err.Error()
	}
	values, rcode, err := lookupTXT(ctx, server, name)
	switch {
	case err != nil:
		return model.DNSFailed, fmt.Sprintf("%s: the lookup at %s failed: %v", expect, server, err)
	case slices.Contains(values, want):
		return model.DNSVerified, fmt.Sprintf("found the TXT record %s with value %q at %s", name, want, server)
	case rcode != dns.RcodeSuccess:
		return model.DNSFailed, fmt.Sprintf("%s; %s answered %s for %s", expect, server, dns.RcodeToString[rcode], name)
	case len(values) == 0:
		return model.DNSFailed, fmt.Sprintf("%s; %s has no TXT record for %s", expect, server, name)
	}
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = fmt.Sprintf("%q", v)
	}
	return model.DNSFailed, fmt.Sprintf("%s; %s has other TXT values for %s: %s", expect, server, name, strings.Join(quoted, ", "))
}

// lookupTXT queries server for the TXT records of name (over UDP, then TCP when
// the answer is truncated) and returns their values, each the concatenation of
// its strings.
func lookupTXT(ctx context.Context, server, name string) ([]string, int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	m.RecursionDesired = true
	cl := &dns.Client{Net: "udp", Timeout: 3 * time.Second}
	r, _, err := cl.ExchangeContext(ctx, m, server)
	if err == nil && r.Truncated {
		cl.Net = "tcp"
		r, _, err = cl.ExchangeContext(ctx, m, server)
	}
	if err != nil {
		return nil, 0, err
	}
	var out []string
	for _, rr := range r.Answer {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out, r.Rcode, nil
}
