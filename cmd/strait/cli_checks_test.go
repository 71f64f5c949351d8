package main

import (
	"encoding/json"
	"strings"
	"testing"

	"strait/internal/server"
	"strait/internal/testenv"
)

// TestCLIUnknownSubcommand: a misspelt subcommand of a group fails (non-zero exit)
// with the top level's "Did you mean" instead of printing help and succeeding.
func TestCLIUnknownSubcommand(t *testing.T) {
	c := newCLI(t, nil, "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"service", "craete", "foo"}, "unknown command \"craete\" for \"strait service\"\n\nDid you mean this?\n\tcreate\n"},
		{[]string{"privatelink", "verify", "svc"}, "unknown command \"verify\" for \"strait privatelink\"\n\nDid you mean this?\n\tverify-dns\n"},
		{[]string{"privatelink", "frobnicate"}, "unknown command \"frobnicate\" for \"strait privatelink\"\n\nRun 'strait privatelink --help' for usage"},
		{[]string{"account", "lst"}, "unknown command \"lst\" for \"strait account\"\n\nDid you mean this?\n\tlist\n"},
	} {
		if msg := c.fail(tc.args...); !strings.Contains(msg, tc.want) {
			t.Errorf("strait %s: %q, want %q", strings.Join(tc.args, " "), msg, tc.want)
		}
	}
	// The group alone still prints its help.
	if out := c.run("service"); !strings.Contains(out, "Available Commands:") {
		t.Errorf("strait service:\n%s", out)
	}
}

// TestCLIExecUsage: `strait exec` says what is missing and shows the usage.
func TestCLIExecUsage(t *testing.T) {
	c := newCLI(t, nil, "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"exec"}, "exec needs an instance ID, then -- and the command to run"},
		{[]string{"exec", "i-0123456789abcdef0"}, "exec needs -- between the instance ID and the command"},
		{[]string{"exec", "i-0123456789abcdef0", "ls"}, "exec needs -- between the instance ID and the command"},
		{[]string{"exec", "i-0123456789abcdef0", "--"}, "exec needs a command after --"},
		{[]string{"exec", "--", "ls"}, "exec needs the instance ID before --"},
	} {
		msg := c.fail(tc.args...)
		if !strings.Contains(msg, tc.want) || !strings.HasSuffix(msg, "\nusage: strait exec INSTANCE_ID -- COMMAND [ARG...]") {
			t.Errorf("strait %s: %q, want %q and the usage", strings.Join(tc.args, " "), msg, tc.want)
		}
	}
}

// TestExecExitCodes runs programs in an instance as `strait exec` does: the exit
// code passes through, and a program that does not exist is 127 with a message
// that names strait, as a shell's.
func TestExecExitCodes(t *testing.T) {
	env := testenv.StartNetns(t, server.Config{})
	_, subnets := env.Network(cliProvider, "us-east-1a")
	id, _ := env.RunInstance(cliProvider, subnets[0])
	var stdout, stderr strings.Builder
	code, err := execInInstance(id, []string{"strait-no-such-program", "x"}, strings.NewReader(""), &stdout, &stderr)
	if err != nil || code != 127 || stderr.String() != "strait: exec: strait-no-such-program: command not found\n" {
		t.Errorf("missing program: code %d, err %v, stderr %q", code, err, stderr.String())
	}
	stderr.Reset()
	code, err = execInInstance(id, []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, strings.NewReader(""), &stdout, &stderr)
	if err != nil || code != 3 || stdout.String() != "out\n" || stderr.String() != "err\n" {
		t.Errorf("sh: code %d, err %v, stdout %q, stderr %q", code, err, stdout.String(), stderr.String())
	}
	if _, err := execInInstance("i-0123456789abcdef0", []string{"true"}, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "has no namespace") {
		t.Errorf("unknown instance: %v", err)
	}
}

// TestCLIServiceChecks: service create needs a component, refuses an empty target
// list and says what is wrong with a port; a refused command creates nothing.
// --privatelink-access works on update as on create, and `service get` shows a
// service without PrivateLink as `list` does.
func TestCLIServiceChecks(t *testing.T) {
	env := testenv.Start(t)
	c := newCLI(t, env, cliProvider)
	vpc, _ := env.Network(cliProvider, "us-east-1a")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, `required flag(s) "component" not set`},
		{[]string{"--component", "web=80:"}, `--component "web=80:": the target list after the colon is empty`},
		{[]string{"--component", "web=80:,"}, `--component "web=80:,": the target list after the colon is empty`},
		{[]string{"--component", "web=99999:10.0.1.5"}, `--component "web=99999:10.0.1.5": the port "99999" is not valid: it must be a number from 1 to 65535`},
		{[]string{"--component", "web=0"}, `the port "0" is not valid`},
		{[]string{"--component", "web=http:10.0.1.5"}, `the port "http" is not valid`},
		{[]string{"--component", "=80:10.0.1.5"}, `use NAME=PORT[:TARGET,TARGET…]`},
	} {
		args := append([]string{"service", "create", "web", "--vpc-id", vpc}, tc.args...)
		if msg := c.fail(args...); !strings.Contains(msg, tc.want) {
			t.Errorf("strait %s: %q, want %q", strings.Join(args, " "), msg, tc.want)
		}
	}
	if out := c.run("service", "list", "-o", "json"); !strings.Contains(out, `"services": []`) {
		t.Fatalf("refused creates left services:\n%s", out)
	}

	c.run("service", "create", "db", "--vpc-id", vpc, "--component", "mysql=3306:10.0.1.5")
	if msg := c.fail("service", "update", "-c", "components.mysql.port=70000", "db"); !strings.Contains(msg, `the port "70000" is not valid`) {
		t.Errorf("update with a bad port: %s", msg)
	}
	if out := c.run("service", "get", "db"); !strings.Contains(out, "\nprivatelink  -\n") {
		t.Errorf("service get without PrivateLink:\n%s", out)
	}
	var svc struct {
		Components []struct {
			Name   string
			Access bool `json:"privatelink_access"`
		}
	}
	out := c.run("service", "update", "--privatelink-access", "mysql", "--add-component", "admin=8080:10.0.1.5",
		"--privatelink-access", "admin", "db", "-o", "json")
	if err := json.Unmarshal([]byte(out), &svc); err != nil {
		t.Fatal(err)
	}
	if len(svc.Components) != 2 || !svc.Components[0].Access || !svc.Components[1].Access {
		t.Errorf("--privatelink-access on update: %+v", svc.Components)
	}
	if msg := c.fail("service", "update", "--privatelink-access", "nope", "db"); !strings.Contains(msg, "InvalidComponent") {
		t.Errorf("--privatelink-access of an unknown component: %s", msg)
	}
}

// TestCLIConnectionInfoDirectInstance: on the direct route an instance target is
// shown by its private IP address, which clients can connect to, not its ID.
func TestCLIConnectionInfoDirectInstance(t *testing.T) {
	env := testenv.Start(t)
	c := newCLI(t, env, cliProvider)
	vpc, subnets := env.Network(cliProvider, "us-east-1a")
	id, ip := env.RunInstance(cliProvider, subnets[0])
	c.run("service", "create", "db", "--vpc-id", vpc, "--component", "mysql=3306:"+id+","+id+":3307")
	out := c.run("service", "connection-info", "db", "--route", "direct")
	if !strings.Contains(out, "mysql -h "+ip+" -P 3306 -u USER -p") || !strings.Contains(out, "mysql -h "+ip+" -P 3307") || strings.Contains(out, "i-") {
		t.Errorf("direct route with an instance target %s (%s):\n%s", id, ip, out)
	}
}
