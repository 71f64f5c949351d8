package hosts

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"strait/internal/model"
)

func csrPEM(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "pretends-to-be-the-server"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func p256(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A host certificate is a client certificate for the host ID alone, whatever
// the request asked for, that chains to the CA; it cannot serve as the server's.
func TestSignHostIssuesAClientCertificateForTheHostID(t *testing.T) {
	now := time.Now()
	ca, err := NewCA("us-east-1", now)
	if err != nil {
		t.Fatal(err)
	}
	if pub, ok := ca.Cert.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() || !ca.Cert.IsCA {
		t.Fatalf("CA key %T, IsCA %v: want an ECDSA P-256 CA", ca.Cert.PublicKey, ca.Cert.IsCA)
	}
	cert, certPEM, err := ca.SignHost(csrPEM(t, p256(t)), "host-0123456789abcdef", now)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "host-0123456789abcdef" {
		t.Errorf("CN %q, want the host ID", cert.Subject.CommonName)
	}
	if parsed, err := ParseCertificatePEM(certPEM); err != nil || !parsed.Equal(cert) {
		t.Errorf("the PEM is not the certificate: %v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: now}); err != nil {
		t.Errorf("host certificate does not verify as a client of the CA: %v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, CurrentTime: now}); err == nil {
		t.Error("host certificate verifies as a server certificate: a host could pose as the server")
	}
	other, _ := NewCA("us-east-1", now)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: other.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: now}); err == nil {
		t.Error("host certificate verifies against another CA")
	}
}

func TestSignHostRefusesBadRequests(t *testing.T) {
	ca, err := NewCA("us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	good := csrPEM(t, p256(t))
	block, _ := pem.Decode(good)
	tampered := append([]byte(nil), block.Bytes...)
	tampered[len(tampered)-5] ^= 0xff // inside the signature
	cases := map[string][]byte{
		"not PEM":          []byte("hello"),
		"a certificate":    ca.CertPEM,
		"ed25519 key":      csrPEM(t, edKey),
		"P-384 key":        csrPEM(t, p384),
		"broken signature": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: tampered}),
	}
	for name, req := range cases {
		_, _, err := ca.SignHost(req, "host-0123456789abcdef", time.Now())
		if !errors.Is(err, model.ErrInvalid) {
			t.Errorf("%s: got %v, want an invalid-parameter error", name, err)
		}
	}
}

// The CA survives the store: the record reads back as the same CA (same pin,
// same key), and a record whose key is not the certificate's is refused.
func TestCARecordRoundTrip(t *testing.T) {
	now := time.Now()
	ca, _ := NewCA("us-east-1", now)
	rec, err := ca.Record(now)
	if err != nil {
		t.Fatal(err)
	}
	back, err := CAFromRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	if back.Pin() != ca.Pin() || !back.Key.Equal(ca.Key) {
		t.Fatal("the CA read back is not the CA written")
	}
	other, _ := NewCA("us-east-1", now)
	otherRec, _ := other.Record(now)
	rec.KeyPEM = otherRec.KeyPEM
	if _, err := CAFromRecord(rec); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("a record with another CA's key: got %v", err)
	}
	// The key never reaches a log line.
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("ca", "record", otherRec)
	if strings.Contains(logged.String(), "PRIVATE KEY") || strings.Contains(fmt.Sprint(logged.String()), otherRec.KeyPEM[40:80]) {
		t.Fatalf("the CA key was logged: %s", logged.String())
	}
}

// The serving certificate names what it was asked to, authenticates a server
// only, and carries the CA so that an agent can check its pin.
func TestServingCert(t *testing.T) {
	now := time.Now()
	ca, _ := NewCA("us-east-1", now)
	tc, err := ca.ServingCert([]string{"strait.example"}, []net.IP{net.ParseIP("192.0.2.7")}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(tc.Certificate) != 2 {
		t.Fatalf("chain of %d certificates, want leaf and CA", len(tc.Certificate))
	}
	if root, _ := x509.ParseCertificate(tc.Certificate[1]); Pin(root) != ca.Pin() {
		t.Error("the chain's second certificate is not the CA")
	}
	for _, name := range []string{"strait.example", "192.0.2.7"} {
		if _, err := tc.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: name, CurrentTime: now}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := tc.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "other.example", CurrentTime: now}); err == nil {
		t.Error("serving certificate verifies for a name it was not issued for")
	}
	if _, err := tc.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: now}); err == nil {
		t.Error("serving certificate verifies as a client certificate")
	}
}
