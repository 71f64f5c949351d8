package agentapi

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net/http"
	"time"

	"strait/internal/model"
)

// RenewRequest asks for a new certificate for the host's key (PEM CSR).
type RenewRequest struct {
	CSR string `json:"csr"`
}

// RenewResponse is the host's new certificate (PEM) and when it expires.
type RenewResponse struct {
	Certificate string    `json:"certificate"`
	NotAfter    time.Time `json:"not_after"`
}

// renew signs a new certificate for the calling host; the certificate it
// called with stays accepted beside the new one (hosts.Registry.Renew).
func (s *Server) renew(r *http.Request, host model.Host, body []byte) (any, error) {
	var req RenewRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	h, certPEM, err := s.reg.Renew(r.Context(), host.ID, r.TLS.VerifiedChains[0][0], []byte(req.CSR))
	if err != nil {
		return nil, err
	}
	return RenewResponse{Certificate: string(certPEM), NotAfter: h.CertNotAfter}, nil
}

// RenewDue reports whether a certificate valid from notBefore to notAfter
// should be renewed at now: within before of its end, or, when before is 0,
// in the last third of its lifetime.
func RenewDue(notBefore, notAfter, now time.Time, before time.Duration) bool {
	if before <= 0 {
		before = notAfter.Sub(notBefore) / 3
	}
	return !now.Before(notAfter.Add(-before))
}

// NotAfter is when the client's newest certificate expires.
func (c *Client) NotAfter() (notBefore, notAfter time.Time) {
	leaf := c.current().leaf
	if leaf == nil {
		return time.Time{}, time.Time{}
	}
	return leaf.NotBefore, leaf.NotAfter
}

// Renew gets a new certificate for the host's key, stores it in the data
// directory (replacing the old one in one rename) and makes the client's next
// calls present it. Calls in flight finish on their connections; the server
// still accepts the old certificate beside the new one.
func (c *Client) Renew(ctx context.Context) (time.Time, error) {
	cur := c.current()
	key := c.id.cert.PrivateKey
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "strait agent"}}, key)
	if err != nil {
		return time.Time{}, err
	}
	var resp RenewResponse
	req := RenewRequest{CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))}
	if err := c.each(ctx, func(server string) error { return call(ctx, cur.http, server+PathRenew, req, &resp) }); err != nil {
		return time.Time{}, err
	}
	block, _ := pem.Decode([]byte(resp.Certificate))
	if block == nil {
		return time.Time{}, fmt.Errorf("the server's renewed certificate is not PEM")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return time.Time{}, fmt.Errorf("the server's renewed certificate: %w", err)
	}
	if leaf.Subject.CommonName != c.id.HostID {
		return time.Time{}, fmt.Errorf("the server's renewed certificate names %q, not this host %s", leaf.Subject.CommonName, c.id.HostID)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: c.id.ca, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return time.Time{}, fmt.Errorf("the server's renewed certificate: %w", err)
	}
	if c.dataDir != "" {
		if err := writeFile(c.dataDir, certFile, []byte(resp.Certificate), 0o644); err != nil {
			return time.Time{}, fmt.Errorf("storing the renewed certificate: %w", err)
		}
	}
	id := c.id
	id.cert = tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
	next := newClients(id)
	c.mu.Lock()
	c.id, c.conns = id, next
	c.mu.Unlock()
	// Idle connections of the old certificate go; a long poll in flight ends
	// on its own.
	cur.tr.CloseIdleConnections()
	return leaf.NotAfter, nil
}
