package agentapi

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"strait/internal/hosts"
)

// Files of an agent's data directory: the host's key (mode 0600), its
// certificate, the region's CA and which host of which server it is.
const (
	keyFile   = "host.key"
	certFile  = "host.crt"
	caFile    = "ca.crt"
	hostFile  = "host.json"
	callLimit = 30 * time.Second
)

// Identity is an enrolled host's credentials, as kept in its data directory.
type Identity struct {
	HostID string `json:"host_id"`
	// Server is the agent listener the host called last; Servers every one
	// it knows (server replicas).
	Server  string   `json:"server"`
	Servers []string `json:"servers,omitempty"`
	cert    tls.Certificate
	ca      *x509.CertPool
}

// ServerURL checks a --server value: https://HOST[:PORT] or HOST[:PORT]
// (https, port 8788 unless given).
func ServerURL(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("--server %q is not a URL: give https://HOST:PORT of the server's agent listener", s)
	}
	if u.Scheme != "https" {
		return "", fmt.Errorf("--server %q: the agent listener speaks HTTPS only (https://%s)", s, u.Host)
	}
	if u.Port() == "" {
		u.Host += ":" + DefaultPort
	}
	return "https://" + u.Host, nil
}

// LoadIdentity reads the credentials in dir; ok is false when the directory
// holds none (the host is not enrolled yet).
func LoadIdentity(dir string) (Identity, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, hostFile))
	if errors.Is(err, os.ErrNotExist) {
		return Identity{}, false, nil
	}
	if err != nil {
		return Identity{}, false, err
	}
	var id Identity
	if err := json.Unmarshal(b, &id); err != nil {
		return Identity{}, false, fmt.Errorf("%s: %w", filepath.Join(dir, hostFile), err)
	}
	id.cert, err = tls.LoadX509KeyPair(filepath.Join(dir, certFile), filepath.Join(dir, keyFile))
	if err != nil {
		return Identity{}, false, fmt.Errorf("the host's certificate in %s: %w", dir, err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, caFile))
	if err != nil {
		return Identity{}, false, err
	}
	id.ca = x509.NewCertPool()
	if !id.ca.AppendCertsFromPEM(caPEM) {
		return Identity{}, false, fmt.Errorf("%s holds no certificate", filepath.Join(dir, caFile))
	}
	return id, true, nil
}

// Enrol joins the region of the server at serverURL with a join token: it
// fetches the server's CA and refuses it unless its pin is the token's, then
// sends a certificate request (a new ECDSA P-256 key, written to dir first;
// or the key an enrolment that was cut off left there) with the zones, the backbone address and version over TLS verified by that
// CA, and stores the certificate it gets.
func Enrol(ctx context.Context, dir, serverURL, token string, req EnrolRequest) (Identity, EnrolResponse, error) {
	t, err := hosts.ParseToken(token)
	if err != nil {
		return Identity{}, EnrolResponse{}, err
	}
	caPEM, err := fetchCA(ctx, serverURL)
	if err != nil {
		return Identity{}, EnrolResponse{}, err
	}
	ca, err := hosts.ParseCertificatePEM(caPEM)
	if err != nil {
		return Identity{}, EnrolResponse{}, fmt.Errorf("the server at %s sent no CA certificate: %w", serverURL, err)
	}
	if pin := hosts.Pin(ca); pin != t.Pin {
		return Identity{}, EnrolResponse{}, fmt.Errorf("refusing to enrol: the server at %s has a CA with sha256 %s, the join token names %s (a token of another region, or not the server you meant)", serverURL, pin, t.Pin)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Identity{}, EnrolResponse{}, err
	}
	key, keyPEM, err := enrolmentKey(dir)
	if err != nil {
		return Identity{}, EnrolResponse{}, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "strait agent"}}, key)
	if err != nil {
		return Identity{}, EnrolResponse{}, err
	}
	req.Token = token
	req.CSR = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))
	var resp EnrolResponse
	c := &http.Client{Timeout: callLimit, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool}}}
	if err := call(ctx, c, serverURL+PathEnrol, req, &resp); err != nil {
		return Identity{}, EnrolResponse{}, err
	}
	cert, err := tls.X509KeyPair([]byte(resp.Certificate), keyPEM)
	if err != nil {
		return Identity{}, EnrolResponse{}, fmt.Errorf("the server's certificate for this host: %w", err)
	}
	id := Identity{HostID: resp.HostID, Server: serverURL, cert: cert, ca: pool}
	idJSON, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return Identity{}, EnrolResponse{}, err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{certFile, []byte(resp.Certificate)}, {caFile, caPEM}, {hostFile, append(idJSON, '\n')}} {
		if err := writeFile(dir, f.name, f.data, 0o644); err != nil {
			return Identity{}, EnrolResponse{}, err
		}
	}
	return id, resp, nil
}

// fetchCA reads the server's CA certificate. The connection is not verified —
// there is nothing to verify it with yet — so the caller trusts the answer only
// if its pin is the token's.
func fetchCA(ctx context.Context, serverURL string) ([]byte, error) {
	c := &http.Client{Timeout: callLimit, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, serverURL+PathCA, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the server's agent listener at %s: %w", serverURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the server at %s answered %s to %s (is it a Strait agent listener?)", serverURL, resp.Status, PathCA)
	}
	return b, nil
}

// Client calls the agent API as an enrolled host (mutual TLS). Renew swaps
// in a new certificate: calls after it present that one.
type Client struct {
	id      Identity
	dataDir string // where Renew stores the new certificate ("": nowhere)
	mu      sync.Mutex
	conns   *clients // under mu
	servers []string // the agent listeners known (failover.go), under mu
	at      int      // the index in servers of the one called now
}

// clients are the HTTP clients of one certificate.
type clients struct {
	http *http.Client
	poll *http.Client // for long polls: a longer time limit
	tr   *http.Transport
	leaf *x509.Certificate
}

// NewClient is a client with the host's credentials; dataDir is where they
// are kept (Renew replaces the certificate there).
func NewClient(id Identity, dataDir string) *Client {
	c := &Client{id: id, dataDir: dataDir, servers: []string{id.Server}}
	c.conns = newClients(id)
	c.learn(id.Servers)
	return c
}

func newClients(id Identity) *clients {
	// Bounded dials and handshakes: a replica whose machine is gone (its
	// packets dropped) costs a few seconds, not a call's whole time limit.
	tr := &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: id.ca, Certificates: []tls.Certificate{id.cert}},
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext, TLSHandshakeTimeout: 5 * time.Second, IdleConnTimeout: time.Minute}
	leaf := id.cert.Leaf
	if leaf == nil && len(id.cert.Certificate) > 0 {
		leaf, _ = x509.ParseCertificate(id.cert.Certificate[0])
	}
	return &clients{http: &http.Client{Timeout: callLimit, Transport: tr},
		poll: &http.Client{Timeout: DefaultPollWait + callLimit, Transport: tr}, tr: tr, leaf: leaf}
}

// current is the HTTP clients of the newest certificate.
func (c *Client) current() *clients {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conns
}

// HostID is the host the client calls as.
func (c *Client) HostID() string { return c.id.HostID }

// Heartbeat sends a report.
func (c *Client) Heartbeat(ctx context.Context, rep Report) (ReportResponse, error) {
	var out ReportResponse
	err := c.each(ctx, func(server string) error { return call(ctx, c.current().http, server+PathHeartbeat, rep, &out) })
	return out, err
}

// Close releases the client's idle connections.
func (c *Client) Close() { c.current().tr.CloseIdleConnections() }

// call posts in as JSON and decodes the answer into out, or the error body
// into an *Error.
func call(ctx context.Context, c *http.Client, u string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		var he x509.HostnameError
		if errors.As(err, &he) {
			return fmt.Errorf("the server's certificate does not name %s (it names %s): reach the server by one of those, or start it with --agent-advertise %s",
				he.Host, certNames(he.Certificate), he.Host)
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return responseError(resp, u)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}

// responseError is the error of a response that is not 200: an *Error when it
// has the agent API's error body.
func responseError(resp *http.Response, u string) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("%s answered %s", u, resp.Status)
	}
	var eb ErrorBody
	if json.Unmarshal(data, &eb) != nil || eb.Error.Code == "" {
		return fmt.Errorf("%s answered %s: %s", u, resp.Status, strings.TrimSpace(string(data)))
	}
	return &Error{Status: resp.StatusCode, ErrorDetail: eb.Error}
}

// certNames lists the names and addresses a certificate is valid for.
func certNames(c *x509.Certificate) string {
	names := slices.Clone(c.DNSNames)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ", ")
}

// writeFile writes name in dir atomically (a temporary file renamed).
func writeFile(dir, name string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(dir, "."+name+".")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil { // a power cut must not leave an empty file behind the rename
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, name))
}

// enrolmentKey is the host's key and its PEM: the one an earlier enrolment
// that was cut off left in dir (the server admits the same token and key
// again), else a new ECDSA P-256 key, written to dir before it is used.
func enrolmentKey(dir string) (*ecdsa.PrivateKey, []byte, error) {
	path := filepath.Join(dir, keyFile)
	if b, err := os.ReadFile(path); err == nil {
		if block, _ := pem.Decode(b); block != nil && block.Type == "EC PRIVATE KEY" {
			if key, err := x509.ParseECPrivateKey(block.Bytes); err == nil && key.Curve == elliptic.P256() {
				return key, b, nil
			}
		}
		return nil, nil, fmt.Errorf("%s holds no ECDSA P-256 key (PEM \"EC PRIVATE KEY\"): remove it to enrol with a new key", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	if err := writeFile(dir, keyFile, keyPEM, 0o600); err != nil {
		return nil, nil, err
	}
	return key, keyPEM, nil
}
