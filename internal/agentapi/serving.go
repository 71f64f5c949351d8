package agentapi

import (
	"crypto/tls"
	"net"
	"sync"
	"time"

	"strait/internal/hosts"
)

// servingCert is the agent listener's certificate, issued again by the CA
// when it is due (RenewDue), so a server that runs for longer than a
// certificate's lifetime keeps being verified by its agents.
type servingCert struct {
	ca    *hosts.CA
	names []string
	ips   []net.IP
	now   func() time.Time

	mu   sync.Mutex
	cert *tls.Certificate
}

// get is the certificate to serve now (tls.Config.GetCertificate).
func (s *servingCert) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.cert != nil && !RenewDue(s.cert.Leaf.NotBefore, s.cert.Leaf.NotAfter, now, 0) {
		return s.cert, nil
	}
	cert, err := s.ca.ServingCert(s.names, s.ips, now)
	if err != nil {
		return nil, err
	}
	s.cert = &cert
	return s.cert, nil
}
