package e2e_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"strait/internal/agent/netns"
	"strait/internal/agentapi"
	"strait/internal/hosts"
	"strait/internal/nativeapi"
	"strait/internal/testenv"
)

// hostCLI runs the strait binary's host commands against a server process:
// through its admin socket (the operator on the server's host), or through the
// native API as a --dev account.
type hostCLI struct {
	t   *testing.T
	env *testenv.Env
}

func (c hostCLI) exec(viaAPI bool, args ...string) (string, string, error) {
	cmd := exec.Command(c.env.Proc.Bin, args...)
	cmd.Env = append(testenv.CleanEnv(), "XDG_CONFIG_HOME="+c.t.TempDir(), "HOME="+c.t.TempDir(), "STRAIT_ENDPOINT=")
	if viaAPI {
		cmd.Env = append(cmd.Env, "STRAIT_ENDPOINT="+c.env.URL(), "AWS_ACCESS_KEY_ID=111111111111", "AWS_SECRET_ACCESS_KEY=secret")
	} else {
		cmd.Args = append(cmd.Args, "--data-dir", c.env.DataDir)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

func (c hostCLI) run(viaAPI bool, args ...string) string {
	c.t.Helper()
	out, errOut, err := c.exec(viaAPI, args...)
	if err != nil {
		c.t.Fatalf("strait %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return strings.TrimSpace(out)
}

// list is `strait host list -o json` through the native API, the enrolled
// hosts only.
func (c hostCLI) list() []nativeapi.Host {
	c.t.Helper()
	return slices.DeleteFunc(c.listAll(), func(h nativeapi.Host) bool { return h.Server })
}

// listAll is `strait host list -o json` through the native API: the enrolled
// hosts and the server's own data plane.
func (c hostCLI) listAll() []nativeapi.Host {
	c.t.Helper()
	var l nativeapi.HostList
	if err := json.Unmarshal([]byte(c.run(true, "host", "list", "-o", "json")), &l); err != nil {
		c.t.Fatal(err)
	}
	return l.Hosts
}

// waitHost waits until the list has exactly one host and ok accepts it.
func (c hostCLI) waitHost(what string, ok func(nativeapi.Host) bool) nativeapi.Host {
	c.t.Helper()
	return c.waitHosts(what, 1, ok)[0]
}

// heartbeat posts a heartbeat to the agent listener with a client certificate
// (trusting the region's CA as given).
func heartbeat(t *testing.T, addr string, caPEM []byte, cert tls.Certificate) (int, error) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}}}
	defer tr.CloseIdleConnections()
	body, _ := json.Marshal(agentapi.Report{Zones: []string{"us-east-1b"}, Version: "forged", State: "running"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+agentapi.PathHeartbeat, bytes.NewReader(body))
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// foreignCert is a host certificate for hostID from a CA that is not the region's.
func foreignCert(t *testing.T, hostID string) tls.Certificate {
	t.Helper()
	ca, err := hosts.NewCA(testenv.Region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	cert, _, err := ca.SignHost(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}), hostID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
}

// TestHostsJoinWithATokenAndMutualTLS runs a `strait server` process with an
// agent listener and `strait agent` processes as hosts (on loopback): a host
// enrols with a one-time token and shows ready with its zones; killed with
// SIGKILL it becomes unreachable; restarted without a token it is ready again
// as the same host. A used token, a token with another CA's hash, a zone of
// another host, a certificate of another CA and a removed host are refused.
func TestHostsJoinWithATokenAndMutualTLS(t *testing.T) {
	env := testenv.StartProcess(t, testenv.ProcessConfig{AgentListener: true})
	cli := hostCLI{t: t, env: env}

	// The operator's token through the admin socket; the host enrols with it.
	token := cli.run(false, "host", "token", "create", "--ttl", "30m")
	agentDir := filepath.Join(t.TempDir(), "agent")
	agent := env.Proc.StartAgent(t, "--token", token, "--zones", "us-east-1b", "--data-dir", agentDir)
	h := cli.waitHost("the host to be ready", func(h nativeapi.Host) bool { return h.State == "ready" })
	if strings.Join(h.Zones, ",") != "us-east-1b" || h.BackboneAddress != "127.0.0.1" || h.BackboneMethod != "wireguard-go" || h.BackboneKey == "" || h.Version == "" {
		t.Fatalf("host: %+v", h)
	}
	if table := cli.run(false, "host", "list"); !strings.Contains(table, h.HostID) || !strings.Contains(table, "ready") {
		t.Fatalf("strait host list:\n%s", table)
	}

	// A server without a data plane of its own is the control plane of its
	// hosts: an instance in the host's zone runs there, one in a zone no
	// host serves stays pending (nothing realizes it).
	const acct = "111122223333"
	_, subnets := env.Network(acct, "us-east-1a", "us-east-1b")
	c := env.EC2(acct)
	orphan, err := c.RunInstances(testenv.Ctx(t), &ec2.RunInstancesInput{ImageId: aws.String(testenv.ImageID), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId: aws.String(subnets[0])})
	if err != nil {
		t.Fatal(err)
	}
	served, _ := env.RunInstance(acct, subnets[1])
	if ns, err := netns.InstanceNamespace(served); err != nil || !strings.HasPrefix(ns, "strait-"+netns.TagFor(agentDir)+"-") {
		t.Fatalf("instance %s in us-east-1b is in namespace %q (%v), want the host's", served, ns, err)
	}
	d, err := c.DescribeInstances(testenv.Ctx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{*orphan.Instances[0].InstanceId}})
	if err != nil || d.Reservations[0].Instances[0].State.Name != ec2types.InstanceStateNamePending {
		t.Fatalf("an instance in a zone no host serves: %+v %v, want pending", d, err)
	}
	_, err = c.TerminateInstances(testenv.Ctx(t), &ec2.TerminateInstancesInput{InstanceIds: []string{served, *orphan.Instances[0].InstanceId}})
	check(t, err)

	// Refused enrolments: the agent exits with the reason, and nothing is enrolled.
	refused := func(what, want string, args ...string) {
		t.Helper()
		a := env.Proc.StartAgent(t, append(args, "--data-dir", t.TempDir())...)
		if err := a.Exit(2 * time.Minute); err == nil || !strings.Contains(a.Log(), want) {
			t.Fatalf("%s: agent exited with %v, want %q in its log:\n%s", what, err, want, a.Log())
		}
	}
	refused("a used token", "InvalidJoinToken: The join token "+strings.Split(token, ".")[0]+" was already used (by "+h.HostID,
		"--token", token, "--zones", "us-east-1c")
	token2 := cli.run(true, "host", "token", "create", "--ttl", "30m") // through the native API this time
	refused("a zone another host serves", "ZoneAlreadyServed", "--token", token2, "--zones", "us-east-1b")
	other, _ := hosts.NewCA(testenv.Region, time.Now())
	parts := strings.Split(token2, ".")
	refused("a token naming another CA", "refusing to enrol: the server at https://"+env.Proc.AgentAddr+" has a CA with sha256 "+parts[2],
		"--token", parts[0]+"."+parts[1]+"."+other.Pin(), "--zones", "us-east-1c")
	if l := cli.list(); len(l) != 1 {
		t.Fatalf("after refused enrolments: %+v", l)
	}

	// Mutual TLS: the host's own certificate is accepted, another CA's
	// certificate for the same host ID is refused in the handshake.
	caPEM, err := os.ReadFile(filepath.Join(agentDir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	own, err := tls.LoadX509KeyPair(filepath.Join(agentDir, "host.crt"), filepath.Join(agentDir, "host.key"))
	if err != nil {
		t.Fatal(err)
	}
	if status, err := heartbeat(t, env.Proc.AgentAddr, caPEM, own); err != nil || status != http.StatusOK {
		t.Fatalf("heartbeat with the host's certificate: %d, %v", status, err)
	}
	if status, err := heartbeat(t, env.Proc.AgentAddr, caPEM, foreignCert(t, h.HostID)); err == nil || !strings.Contains(err.Error(), "tls: ") {
		t.Fatalf("heartbeat with another CA's certificate: %d, %v; want the handshake refused", status, err)
	}

	// kill -9: unreachable after three missed heartbeats.
	agent.Kill()
	down := cli.waitHost("the killed host to be unreachable", func(h nativeapi.Host) bool { return h.State == "unreachable" })
	if down.HostID != h.HostID || down.UnreachableSince == nil || !down.UnreachableSince.After(down.LastReport) {
		t.Fatalf("unreachable host: %+v", down)
	}
	if table := cli.run(true, "host", "list"); !strings.Contains(table, "unreachable since ") {
		t.Fatalf("strait host list does not say since when:\n%s", table)
	}

	// Restarted without a token: the same host, ready again.
	agent = env.Proc.StartAgent(t, "--zones", "us-east-1b", "--data-dir", agentDir)
	back := cli.waitHost("the restarted host to be ready", func(h nativeapi.Host) bool { return h.State == "ready" })
	if back.HostID != h.HostID || !back.LastReport.After(down.LastReport) {
		t.Fatalf("restarted host: %+v, want %s with a new report", back, h.HostID)
	}

	// Removed: its certificate is refused, the running agent exits, the zone is free.
	if out := cli.run(false, "host", "remove", h.HostID); !strings.Contains(out, "removed "+h.HostID) {
		t.Fatalf("strait host remove: %s", out)
	}
	if err := agent.Exit(2 * time.Minute); err == nil || !strings.Contains(agent.Log(), "HostRemoved") {
		t.Fatalf("the removed host's agent exited with %v:\n%s", err, agent.Log())
	}
	if status, err := heartbeat(t, env.Proc.AgentAddr, caPEM, own); err != nil || status != http.StatusForbidden {
		t.Fatalf("heartbeat of the removed host: %d, %v; want 403", status, err)
	}
	if _, errOut, err := cli.exec(true, "host", "remove", h.HostID); err == nil || !strings.Contains(errOut, "ResourceNotFound") {
		t.Fatalf("removing it again: %v %s", err, errOut)
	}
	env.Proc.StartAgent(t, "--token", token2, "--zones", "us-east-1b", "--data-dir", t.TempDir())
	cli.waitHost("a new host in the freed zone", func(n nativeapi.Host) bool { return n.State == "ready" && n.HostID != h.HostID })
}
