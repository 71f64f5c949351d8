package hosts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"

	"strait/internal/model"
)

// Validity of what the CA signs. Certificates are not renewed yet: a host
// enrols again after HostCertValidity (`strait host remove`, then a new token).
const (
	caValidity       = 10 * 365 * 24 * time.Hour
	HostCertValidity = 365 * 24 * time.Hour
	servingValidity  = 365 * 24 * time.Hour
	// backdate covers clocks a little behind the server's.
	backdate = 5 * time.Minute
)

// CA is the region's certificate authority for hosts: ECDSA P-256, x509.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	// CertPEM is Cert, PEM-encoded (what agents store and trust).
	CertPEM []byte
}

// NewCA creates a CA for region.
func NewCA(region string, now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "Strait host CA " + region, Organization: []string{"Strait"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// Record is the CA as the store keeps it.
func (ca *CA) Record(now time.Time) (model.HostCA, error) {
	keyDER, err := x509.MarshalECPrivateKey(ca.Key)
	if err != nil {
		return model.HostCA{}, err
	}
	return model.HostCA{CertPEM: string(ca.CertPEM), KeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})), Created: now}, nil
}

// CAFromRecord reads the CA the store keeps.
func CAFromRecord(r model.HostCA) (*CA, error) {
	cert, err := ParseCertificatePEM([]byte(r.CertPEM))
	if err != nil {
		return nil, fmt.Errorf("the stored host CA certificate: %w", err)
	}
	block, _ := pem.Decode([]byte(r.KeyPEM))
	if block == nil || block.Type != "EC PRIVATE KEY" {
		return nil, errors.New("the stored host CA key is not a PEM EC private key")
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the stored host CA key: %w", err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("the stored host CA key does not match its certificate")
	}
	return &CA{Cert: cert, Key: key, CertPEM: []byte(r.CertPEM)}, nil
}

// Pin is the SHA-256 (hex) of a certificate's public key (its DER
// SubjectPublicKeyInfo), as kubeadm's discovery-token-ca-cert-hash: a join token
// carries the CA's pin so that an agent trusts the server only if its CA has it.
func Pin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// Pin is the CA's pin (see Pin).
func (ca *CA) Pin() string { return Pin(ca.Cert) }

// Pool is a certificate pool holding the CA alone.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// SignHost checks a host's certificate request (its signature; an ECDSA P-256
// key) and signs a client certificate for it: CN = hostID, valid for
// HostCertValidity. What the request says besides its key is ignored.
func (ca *CA) SignHost(csrPEM []byte, hostID string, now time.Time) (*x509.Certificate, []byte, error) {
	block, _ := pem.Decode(csrPEM)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, nil, model.Invalid("The certificate request is not a PEM CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, nil, model.Invalid("The certificate request is not valid: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, nil, model.Invalid("The certificate request's signature is not valid: %v", err)
	}
	pub, ok := csr.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, nil, model.Invalid("The certificate request's key must be ECDSA P-256")
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: hostID, Organization: []string{"Strait hosts"}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(HostCertValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return ca.sign(tmpl, pub)
}

// ServingCert issues the agent listener's certificate (server authentication
// only, so a host certificate can never pose as the server) for the given DNS
// names and IP addresses, with the CA in its chain so that an agent sees it.
// A fresh key each time: the key stays in this process's memory.
func (ca *CA) ServingCert(names []string, ips []net.IP, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "strait server", Organization: []string{"Strait"}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(servingValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     names,
		IPAddresses:  ips,
	}
	cert, _, err := ca.sign(tmpl, &key.PublicKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{cert.Raw, ca.Cert.Raw}, PrivateKey: key, Leaf: cert}, nil
}

// sign signs tmpl for pub and returns the certificate and its PEM.
func (ca *CA) sign(tmpl *x509.Certificate, pub *ecdsa.PublicKey) (*x509.Certificate, []byte, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// ParseCertificatePEM reads the first certificate of a PEM text.
func ParseCertificatePEM(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// Serial is a certificate's serial number as the registry records it (hex).
func Serial(cert *x509.Certificate) string { return cert.SerialNumber.Text(16) }

// randomSerial is a random 128-bit serial number (RFC 5280 allows up to 20 octets).
func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		panic("hosts: reading random bytes: " + err.Error())
	}
	return n.Add(n, big.NewInt(1))
}
