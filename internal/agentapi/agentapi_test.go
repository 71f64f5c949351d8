package agentapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"strait/internal/hosts"
	"strait/internal/model"
	"strait/internal/store"
)

type fixture struct {
	reg *hosts.Registry
	srv *Server
	url string
}

func start(t *testing.T) fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := hosts.New(st, hosts.Config{Region: "us-east-1", Zones: []model.AvailabilityZone{{Name: "us-east-1a"}, {Name: "us-east-1b"}}})
	srv, err := Start(ctx, reg, ServerConfig{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return fixture{reg: reg, srv: srv, url: "https://" + srv.Addr()}
}

func (f fixture) token(t *testing.T) hosts.Token {
	t.Helper()
	tok, _, err := f.reg.CreateToken(context.Background(), time.Hour, "test")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func apiCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// clientWith is an HTTPS client that trusts the region's CA and presents certs.
func (f fixture) clientWith(t *testing.T, certs ...tls.Certificate) *http.Client {
	ca, err := f.reg.CA(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: certs}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// foreignCert is a client certificate for cn from another CA.
func foreignCert(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	other, err := hosts.NewCA("us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	cert, _, err := other.SignHost(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}), cn, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
}

// An enrolled host reports over mutual TLS; without a certificate, with a
// certificate of another CA (even for its own host ID) or after the host was
// removed, the same call is refused.
func TestMutualTLS(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	dir := t.TempDir()
	id, resp, err := Enrol(ctx, dir, f.url, f.token(t).String(), EnrolRequest{Zones: []string{"us-east-1a"}, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.HostID == "" || id.HostID != resp.HostID {
		t.Fatalf("enrolled as %q / %q", resp.HostID, id.HostID)
	}
	if fi, err := os.Stat(filepath.Join(dir, keyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("host key: %v, %v", fi, err)
	}
	loaded, ok, err := LoadIdentity(dir)
	if err != nil || !ok || loaded.HostID != id.HostID {
		t.Fatalf("the credentials read back: %+v %v %v", loaded, ok, err)
	}
	c := NewClient(loaded, "")
	defer c.Close()
	if _, err := c.Heartbeat(ctx, Report{Zones: []string{"us-east-1a"}, Version: "test", State: "running"}); err != nil {
		t.Fatalf("heartbeat with the host's certificate: %v", err)
	}
	list, _ := f.reg.Hosts(ctx)
	if len(list) != 1 || list[0].BackboneAddress != "127.0.0.1" || list[0].AgentState != "running" {
		t.Fatalf("registry: %+v (the backbone address defaults to the agent's source address)", list)
	}

	err = call(ctx, f.clientWith(t), f.url+PathHeartbeat, Report{Zones: []string{"us-east-1a"}}, &ReportResponse{})
	if apiCode(err) != CodeNoCertificate {
		t.Errorf("heartbeat without a certificate: %v", err)
	}
	err = call(ctx, f.clientWith(t, foreignCert(t, id.HostID)), f.url+PathHeartbeat, Report{Zones: []string{"us-east-1a"}}, &ReportResponse{})
	if err == nil || apiCode(err) != "" || !strings.Contains(err.Error(), "tls") {
		t.Errorf("heartbeat with another CA's certificate: got %v, want the TLS handshake refused", err)
	}

	if err := f.reg.Remove(ctx, id.HostID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Heartbeat(ctx, Report{Zones: []string{"us-east-1a"}}); apiCode(err) != CodeHostRemoved {
		t.Errorf("heartbeat of a removed host: %v", err)
	}
}

// The agent refuses a server whose CA is not the one its token names, before
// it sends anything but a request for the CA.
func TestEnrolChecksTheServersCA(t *testing.T) {
	f := start(t)
	tok := f.token(t)
	tok.Pin = strings.Repeat("0", 64)
	dir := t.TempDir()
	_, _, err := Enrol(context.Background(), dir, f.url, tok.String(), EnrolRequest{Zones: []string{"us-east-1a"}})
	if err == nil || !strings.Contains(err.Error(), "refusing to enrol") {
		t.Fatalf("got %v, want a refusal", err)
	}
	if list, _ := f.reg.Hosts(context.Background()); len(list) != 0 {
		t.Fatalf("a host was enrolled: %+v", list)
	}
	if _, err := os.Stat(filepath.Join(dir, keyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a key was written before the server was trusted: %v", err)
	}
}

// An enrolment whose answer never reached the agent (stopped before it
// stored its certificate) is done again with the same token: the agent sends
// the key it kept, and is the host it was.
func TestEnrolAgainAfterACutOff(t *testing.T) {
	f := start(t)
	tok := f.token(t).String()
	dir := t.TempDir()
	ctx := context.Background()
	first, _, err := Enrol(ctx, dir, f.url, tok, EnrolRequest{Zones: []string{"us-east-1a"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{certFile, caFile, hostFile} { // what the cut-off agent never wrote
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	again, _, err := Enrol(ctx, dir, f.url, tok, EnrolRequest{Zones: []string{"us-east-1a"}})
	if err != nil || again.HostID != first.HostID {
		t.Fatalf("enrolling again with the same token: %+v, %v; want host %s", again, err, first.HostID)
	}
	c := NewClient(again, "")
	defer c.Close()
	if _, err := c.Heartbeat(ctx, Report{Zones: []string{"us-east-1a"}, State: "running"}); err != nil {
		t.Fatalf("heartbeat with the new certificate: %v", err)
	}
	// Another agent (another key) with that token is refused.
	if _, _, err := Enrol(ctx, t.TempDir(), f.url, tok, EnrolRequest{Zones: []string{"us-east-1b"}}); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("another key with a used token: %v", err)
	}
}

// Run enrols once; a restarted Run uses the stored certificate without a
// token; a removed host's Run ends with the server's refusal.
func TestRunEnrolsOnceThenReports(t *testing.T) {
	f := start(t)
	dir := t.TempDir()
	key, err := BackboneKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := key.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := AgentConfig{Server: f.url, Token: f.token(t).String(), DataDir: dir, Zones: []string{"us-east-1b"}, Version: "test",
		BackboneMethod: model.BackboneWireGuardGo, BackboneKey: pub}
	runFor := func(cfg AgentConfig, until func() bool) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- Run(ctx, cfg) }()
		for {
			select {
			case err := <-done:
				return err
			case <-time.After(20 * time.Millisecond):
				if until() {
					cancel()
					return <-done
				}
			}
		}
	}
	hostsList := func() []hosts.Status { l, _ := f.reg.Hosts(context.Background()); return l }
	// Enrolled means both sides hold it: the server lists the host and the
	// agent has stored its credentials (the server lists it a moment before
	// its answer reaches the agent; a stop in between is an enrolment cut off).
	enrolled := func() bool {
		_, stored, _ := LoadIdentity(dir)
		return stored && len(hostsList()) == 1
	}
	if err := runFor(cfg, enrolled); err != nil {
		t.Fatal(err)
	}
	first := hostsList()[0]
	if first.BackboneMethod != model.BackboneWireGuardGo || first.BackboneKey != pub.String() {
		t.Fatalf("enrolled with backbone method %q key %q, want %s %s", first.BackboneMethod, first.BackboneKey, model.BackboneWireGuardGo, pub)
	}
	cfg.Token = "" // a restart needs none
	cfg.Version = "restarted"
	if err := runFor(cfg, func() bool { l := hostsList(); return len(l) == 1 && l[0].Version == "restarted" }); err != nil {
		t.Fatal(err)
	}
	if l := hostsList(); len(l) != 1 || l[0].ID != first.ID {
		t.Fatalf("after a restart: %+v, want the same host %s", l, first.ID)
	}
	if err := f.reg.Remove(context.Background(), first.ID); err != nil {
		t.Fatal(err)
	}
	err = runFor(cfg, func() bool { return false })
	if apiCode(err) != CodeHostRemoved {
		t.Fatalf("run of a removed host: %v", err)
	}
}

func TestServerURL(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.1":                 "https://10.0.0.1:8788",
		"10.0.0.1:9000":            "https://10.0.0.1:9000",
		"https://strait.example":   "https://strait.example:8788",
		"https://[2001:db8::1]:99": "https://[2001:db8::1]:99",
		"http://10.0.0.1:8788":     "",
		"https://":                 "",
	} {
		got, err := ServerURL(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
}
