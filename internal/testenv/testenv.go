// Package testenv starts in-process Strait servers for tests and gives them the real
// AWS clients: aws-sdk-go-v2 (EC2, ELBv2) and the AWS CLI.
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"strait/internal/agent"
	"strait/internal/server"
)

// Region is the region test servers answer for.
const Region = "us-east-1"

// Env is a running test server: in this process (Server), or a `strait
// server` child process (Proc, see StartProcess).
type Env struct {
	T       testing.TB
	Server  *server.Server
	Proc    *Process
	DataDir string
}

// URL is the base URL of the server's API.
func (e *Env) URL() string {
	if e.Proc != nil {
		return e.Proc.URL
	}
	return e.Server.URL()
}

// Start runs a server in dev mode on a loopback port with a fresh data directory,
// and stops it when the test ends.
func Start(t testing.TB) *Env {
	t.Helper()
	return StartIn(t, t.TempDir())
}

// StartIn runs a server on an existing data directory (to test restarts).
func StartIn(t testing.TB, dir string) *Env {
	t.Helper()
	return StartConfig(t, server.Config{DataDir: dir, Dev: true})
}

// StartConfig runs a server with cfg; an empty Listen means a loopback port, an empty
// DataDir a fresh directory, an empty Region the test region.
func StartConfig(t testing.TB, cfg server.Config) *Env {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Region == "" {
		cfg.Region = Region
	}
	if cfg.Forwarding == "" {
		cfg.Forwarding = Forwarding(t)
	}
	if cfg.Dataplane == "netns" && cfg.RelayCommand == nil && os.Getenv("STRAIT_TEST_RELAY") != "inprocess" {
		// As `strait server` does: the relay and resolvers in a relay
		// process (stopped by the cleanup of StartNetns), run from a binary
		// built from this tree.
		abs, err := filepath.Abs(cfg.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		cfg.RelayCommand = []string{StraitBinary(t), "relay", "--data-dir", abs}
	}
	dir := cfg.DataDir
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := server.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("starting server: %v", err)
	}
	e := &Env{T: t, Server: s, DataDir: dir}
	t.Cleanup(func() { e.Stop() })
	return e
}

// Forwarding is the --forwarding of the servers tests start: the environment
// variable STRAIT_TEST_FORWARDING ("kernel" or "relay"; "kernel" when unset),
// so that the suite can run on either path. Another value fails the test.
func Forwarding(t testing.TB) string {
	t.Helper()
	f := os.Getenv("STRAIT_TEST_FORWARDING")
	if f == "" {
		return agent.ForwardKernel.String()
	}
	if _, err := agent.ParseForwarding(f); err != nil {
		t.Fatalf("STRAIT_TEST_FORWARDING: %v", err)
	}
	return f
}

// Stop stops the server (idempotent).
func (e *Env) Stop() {
	if e.Proc != nil {
		e.Proc.Stop()
	}
	if e.Server != nil {
		if err := e.Server.Close(); err != nil {
			e.T.Errorf("stopping server: %v", err)
		}
		e.Server = nil
	}
}

// Config is an aws-sdk-go-v2 configuration for account acct (dev mode: the access key
// ID is the account ID).
func (e *Env) Config(acct string) aws.Config { return e.ConfigKey(acct, "secret") }

// ConfigKey is an aws-sdk-go-v2 configuration with an explicit access key and secret.
func (e *Env) ConfigKey(keyID, secret string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		BaseEndpoint: aws.String(e.URL()),
		Retryer:      connectionRetryer,
	}
}

// EC2 is an EC2 client for account acct.
func (e *Env) EC2(acct string) *ec2.Client { return ec2.NewFromConfig(e.Config(acct)) }

// ELB is an ELBv2 client for account acct.
func (e *Env) ELB(acct string) *elbv2.Client { return elbv2.NewFromConfig(e.Config(acct)) }

// AWS runs the AWS CLI as account acct against the server and returns its stdout
// decoded as JSON (nil for empty output). It fails the test on a non-zero exit.
func (e *Env) AWS(acct string, args ...string) map[string]any {
	e.T.Helper()
	out, stderr, err := e.AWSRaw(acct, args...)
	if err != nil {
		e.T.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return nil
	}
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		e.T.Fatalf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	return v
}

// AWSText runs the AWS CLI with --output text (usually with --query) and returns
// its trimmed output. It fails the test on a non-zero exit.
func (e *Env) AWSText(acct string, args ...string) string {
	e.T.Helper()
	out, stderr, err := e.AWSRaw(acct, append(args, "--output", "text")...)
	if err != nil {
		e.T.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// AWSError runs the AWS CLI expecting it to fail, and returns its stderr.
func (e *Env) AWSError(acct string, args ...string) string {
	e.T.Helper()
	out, stderr, err := e.AWSRaw(acct, args...)
	if err == nil {
		e.T.Fatalf("aws %s succeeded, want an error:\n%s", strings.Join(args, " "), out)
	}
	return string(stderr)
}

// AWSRaw runs the AWS CLI and returns stdout, stderr and the exit error.
func (e *Env) AWSRaw(acct string, args ...string) ([]byte, []byte, error) {
	e.T.Helper()
	path, err := awsPath()
	if err != nil {
		SkipUnlessE2E(e.T, "the AWS CLI (aws) is not installed")
	}
	full := append([]string{"--endpoint-url", e.URL(), "--region", Region, "--output", "json"}, args...)
	cmd := exec.Command(path, full...)
	cmd.Env = append(CleanEnv(),
		"AWS_ACCESS_KEY_ID="+acct, "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	return stdout.Bytes(), stderr.Bytes(), err
}

// Ctx is a context for one test step.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// CleanEnv is the process environment without AWS_* variables, so that the CLI uses
// only what a test gives it.
func CleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	return out
}

// SkipUnlessE2E skips the test with reason, except when STRAIT_E2E=1 (as in CI), where
// a missing prerequisite is a failure.
func SkipUnlessE2E(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("STRAIT_E2E") == "1" {
		t.Fatalf("STRAIT_E2E=1 but %s", reason)
	}
	t.Skip(reason)
}

// AWSPath is the AWS CLI's executable (see awsPath).
func AWSPath() (string, error) { return awsPath() }

// awsPath finds the AWS CLI, looking through a pyenv shim to the real script (the shim
// costs about a second per call).
var awsPath = sync.OnceValues(func() (string, error) {
	path, err := exec.LookPath("aws")
	if err != nil || !strings.Contains(path, "/shims/") {
		return path, err
	}
	if out, err := exec.Command("pyenv", "which", "aws").Output(); err == nil {
		if real := strings.TrimSpace(string(out)); real != "" {
			return real, nil
		}
	}
	return path, nil
})

// Network creates, for acct, a 10.0.0.0/16 VPC with a /24 subnet (10.0.N.0/24) in each
// of the given zones, and returns the VPC ID and the subnet IDs in zone order.
func (e *Env) Network(acct string, zones ...string) (string, []string) {
	e.T.Helper()
	ctx := Ctx(e.T)
	c := e.EC2(acct)
	v, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		e.T.Fatal(err)
	}
	var subnets []string
	for i, z := range zones {
		s, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i+1)), AvailabilityZone: aws.String(z)})
		if err != nil {
			e.T.Fatal(err)
		}
		subnets = append(subnets, *s.Subnet.SubnetId)
	}
	return *v.Vpc.VpcId, subnets
}

// Zones names the first n zones of the test region, cycling through a, b and c.
func Zones(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%c", Region, 'a'+i%3)
	}
	return out
}

// connectionRetryer retries only requests whose connection failed (a loopback
// connection the transport reused just as it was closed), never an answer from the
// server: a test sees every error Strait returns.
func connectionRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
	})
}

// RequireRoot skips a test that needs root (network namespaces, nftables) when not
// running as root, except under STRAIT_E2E=1, where it fails.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		SkipUnlessE2E(t, "the test needs root (network namespaces and nftables)")
	}
}
