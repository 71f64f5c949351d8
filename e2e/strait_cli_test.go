package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"strait/internal/testenv"
)

// strait is the built strait CLI as one account, talking to the test server's
// native API.
type strait struct {
	t    *testing.T
	bin  string
	env  *testenv.Env
	acct string
}

// buildStrait builds the strait binary for the test.
func buildStrait(t *testing.T, env *testenv.Env, acct string) strait {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "strait")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/strait").CombinedOutput(); err != nil {
		t.Fatalf("building strait: %v\n%s", err, out)
	}
	return strait{t: t, bin: bin, env: env, acct: acct}
}

// exec runs `strait ARGS…` and returns stdout, stderr and the error.
func (s strait) exec(args ...string) (string, string, error) {
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append(testenv.CleanEnv(), "XDG_CONFIG_HOME="+s.t.TempDir(), "HOME="+s.t.TempDir(),
		"STRAIT_ENDPOINT="+s.env.Server.URL(), "AWS_ACCESS_KEY_ID="+s.acct, "AWS_SECRET_ACCESS_KEY=secret")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// run runs a command that must succeed and returns its trimmed stdout.
func (s strait) run(args ...string) string {
	s.t.Helper()
	out, errOut, err := s.exec(args...)
	if err != nil {
		s.t.Fatalf("strait %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return strings.TrimSpace(out)
}

// fail runs a command that must fail and returns its stderr.
func (s strait) fail(args ...string) string {
	s.t.Helper()
	out, errOut, err := s.exec(args...)
	if err == nil {
		s.t.Fatalf("strait %s succeeded, want an error:\n%s", strings.Join(args, " "), out)
	}
	return errOut
}

// json runs a command with -o json and decodes its output into v.
func (s strait) json(v any, args ...string) {
	s.t.Helper()
	if err := json.Unmarshal([]byte(s.run(append(args, "-o", "json")...)), v); err != nil {
		s.t.Fatalf("strait %s: %v", strings.Join(args, " "), err)
	}
}

// lineServe runs a line server inside an instance on port: it answers each line
// with "<name> <line>".
func lineServe(t *testing.T, instance string, port int, name string) {
	ln := testenv.ListenIn(t, instance, fmt.Sprintf(":%d", port))
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go lineServer(c, name)
		}
	}()
}

// askHost sends one line to host:port from inside an instance with bash's
// /dev/tcp, so the name resolves as any program in the instance resolves it
// (through the VPC's resolver), and returns the first line of the answer.
func askHost(t *testing.T, from, host string, port int32, line string) (string, error) {
	t.Helper()
	script := fmt.Sprintf(`exec 3<>/dev/tcp/%s/%d && echo %q >&3 && head -n 1 <&3`, host, port, line)
	out, errOut, code := testenv.Exec(t, from, "timeout", "5", "bash", "-c", script)
	if code != 0 {
		return "", fmt.Errorf("exit %d: %s", code, strings.TrimSpace(errOut))
	}
	return strings.TrimSpace(out), nil
}

// canDial reports whether a TCP connection to addr can be opened from an instance.
func canDial(t *testing.T, from string, addr string) bool {
	t.Helper()
	c, err := testenv.DialFrom(t, from, addr, 2*time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// endpointIP is the first private address of an interface endpoint.
func endpointIP(c cli, vpce string) string {
	c.t.Helper()
	eni := c.run("ec2", "describe-vpc-endpoints", "--vpc-endpoint-ids", vpce, "--query", "VpcEndpoints[0].NetworkInterfaceIds[0]")
	ip := c.run("ec2", "describe-network-interfaces", "--network-interface-ids", eni, "--query", "NetworkInterfaces[0].PrivateIpAddress")
	if net.ParseIP(ip) == nil {
		c.t.Fatalf("endpoint %s address %q", vpce, ip)
	}
	return ip
}
