package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"strait/internal/server"
	"strait/internal/testenv"
)

var updateGolden = flag.Bool("update", false, "rewrite the CLI golden files in testdata/cli")

const (
	cliProvider = "111111111111"
	cliConsumer = "222222222222"
	cliOther    = "333333333333"
)

// cli runs strait commands in-process against a test server as one account.
type cli struct {
	t    *testing.T
	env  *testenv.Env
	acct string
	norm *cliNormalizer
}

// newCLI isolates the CLI from the user's configuration and environment.
func newCLI(t *testing.T, env *testenv.Env, acct string) *cli {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, v := range []string{"STRAIT_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"} {
		t.Setenv(v, "")
	}
	return &cli{t: t, env: env, acct: acct, norm: &cliNormalizer{seen: map[string]string{}, count: map[string]int{}}}
}

// exec runs one command with the connection flags and returns stdout, stderr and
// the error.
func (c *cli) exec(args ...string) (string, string, error) {
	cmd := rootCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	if c.env != nil && len(args) > 0 && (args[0] == "service" || args[0] == "privatelink") {
		args = append(args, "--endpoint", c.env.Server.URL(), "--access-key-id", c.acct, "--secret-access-key", "secret")
	}
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

// run runs a command that must succeed and returns its stdout.
func (c *cli) run(args ...string) string {
	c.t.Helper()
	out, errOut, err := c.exec(args...)
	if err != nil {
		c.t.Fatalf("strait %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// fail runs a command that must fail and returns its error message.
func (c *cli) fail(args ...string) string {
	c.t.Helper()
	out, _, err := c.exec(args...)
	if err == nil {
		c.t.Fatalf("strait %s succeeded, want an error:\n%s", strings.Join(args, " "), out)
	}
	return err.Error()
}

// golden compares the normalized output with testdata/cli/NAME.
func (c *cli) golden(name, out string) {
	c.t.Helper()
	out = c.norm.apply(out)
	if strings.HasSuffix(name, ".txt") {
		out = realign(out)
	}
	compareGolden(c.t, name, out)
}

// realign re-aligns table columns (separated by two or more spaces) after
// normalization has shortened IDs, so that golden files read like real output.
func realign(s string) string {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, line := range strings.SplitAfter(s, "\n") {
		fmt.Fprint(tw, columnGap.ReplaceAllString(line, "\t"))
	}
	tw.Flush()
	return b.String()
}

var columnGap = regexp.MustCompile(`  +`)

func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "cli", name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/strait -run %s -update)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// cliNormalizer replaces generated IDs, ARN suffixes, DNS labels, times and ages
// with placeholders numbered in order of first appearance.
type cliNormalizer struct {
	seen  map[string]string
	count map[string]int
}

var (
	cliIDRe    = regexp.MustCompile(`\b(vpce-svc|vpce|vpc|subnet)-([0-9a-f]{17})\b`)
	cliARNRe   = regexp.MustCompile(`/([0-9a-f]{16})\b`)
	cliLabelRe = regexp.MustCompile(`(vpce-[0-9a-f]{17})-([a-z0-9]{8})\b`)
	cliTimeRe  = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	cliAgeRe   = regexp.MustCompile(`\b\d+s\b`)
	// The private DNS verification record's random name and value, and the test
	// resolver's port.
	cliTXTRe  = regexp.MustCompile(`\b_[a-z0-9]{20}\.|"vpce:[A-Za-z0-9]{20}"`)
	cliPortRe = regexp.MustCompile(`127\.0\.0\.1:\d+`)
)

func (n *cliNormalizer) apply(s string) string {
	s = cliTimeRe.ReplaceAllString(s, "TIMESTAMP")
	s = cliAgeRe.ReplaceAllString(s, "Ns")
	s = cliTXTRe.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, "_") {
			return "_TXTNAME."
		}
		return `"vpce:TXTVALUE"`
	})
	s = cliPortRe.ReplaceAllString(s, "127.0.0.1:PORT")
	s = cliLabelRe.ReplaceAllStringFunc(s, func(m string) string {
		sub := cliLabelRe.FindStringSubmatch(m)
		return sub[1] + "-" + n.name("LABEL", sub[2])
	})
	s = cliIDRe.ReplaceAllStringFunc(s, func(m string) string {
		sub := cliIDRe.FindStringSubmatch(m)
		return sub[1] + "-" + n.name(sub[1], sub[2])
	})
	return cliARNRe.ReplaceAllStringFunc(s, func(m string) string { return "/" + n.name("ARN", m[1:]) })
}

func (n *cliNormalizer) name(kind, raw string) string {
	k := kind + ":" + raw
	if v, ok := n.seen[k]; ok {
		return v
	}
	n.count[kind]++
	v := fmt.Sprintf("%03d", n.count[kind])
	if kind == "ARN" || kind == "LABEL" {
		v = kind + strconv.Itoa(n.count[kind])
	}
	n.seen[k] = v
	return v
}

func cliWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached in a minute", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCLIHelp pins the help text of every provider command.
func TestCLIHelp(t *testing.T) {
	c := newCLI(t, nil, "")
	for _, args := range [][]string{
		{"login"}, {"service"}, {"service", "create"}, {"service", "list"}, {"service", "get"}, {"service", "update"},
		{"service", "delete"}, {"service", "connection-info"}, {"privatelink"}, {"privatelink", "create"},
		{"privatelink", "get"}, {"privatelink", "update"}, {"privatelink", "delete"}, {"privatelink", "connections"},
		{"privatelink", "accept"}, {"privatelink", "reject"}, {"privatelink", "verify-dns"},
	} {
		out := c.run(append(args, "--help")...)
		compareGolden(t, "help-"+strings.Join(args, "-")+".txt", out)
	}
}

// TestCLIGuide003 runs guide 003's provider workflow with the CLI: a kafka-like
// service, a PrivateLink resource for a consumer principal, access for two of three
// components, principals replaced, a refused and a forced delete.
func TestCLIGuide003(t *testing.T) {
	env := testenv.Start(t)
	c := newCLI(t, env, cliProvider)
	ctx := testenv.Ctx(t)
	vpc, _ := env.Network(cliProvider, "us-east-1a", "us-east-1b", "us-east-1c")
	cvpc, csubnets := env.Network(cliConsumer, "us-east-1a", "us-east-1b", "us-east-1c")

	c.golden("guide003-create.txt", c.run("service", "create", "my-kafka", "--vpc-id", vpc,
		"--component", "kafka=9092:10.0.1.10,10.0.2.10:19092", "--component", "kafka_connect=8083:10.0.1.11",
		"--component", "schema_registry=8081:10.0.1.12"))
	c.golden("guide003-list.txt", c.run("service", "list"))
	c.golden("guide003-list.json", c.run("service", "list", "-o", "json"))

	out, progress, err := c.exec("privatelink", "create", "--principal", "arn:aws:iam::"+cliConsumer+":user/mwf", "--wait", "my-kafka")
	if err != nil {
		t.Fatalf("privatelink create: %v\n%s", err, progress)
	}
	if !strings.Contains(progress, "waiting for state active: active") {
		t.Errorf("progress:\n%s", progress)
	}
	c.golden("guide003-privatelink-create.txt", out)
	name := strings.TrimSpace(c.run("privatelink", "get", "my-kafka", "aws_service_name"))
	id := strings.TrimSpace(c.run("privatelink", "get", "my-kafka", "aws_service_id"))
	if name != "com.amazonaws.vpce.us-east-1."+id || !strings.HasPrefix(id, "vpce-svc-") {
		t.Fatalf("aws_service_name %q, aws_service_id %q", name, id)
	}
	c.golden("guide003-privatelink-get.json", c.run("privatelink", "get", "my-kafka", "-o", "json"))

	// The consumer creates an endpoint with the printed service name.
	ep, err := env.EC2(cliConsumer).CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{
		VpcEndpointType: ec2types.VpcEndpointTypeInterface, VpcId: aws.String(cvpc), ServiceName: aws.String(name), SubnetIds: csubnets})
	if err != nil {
		t.Fatal(err)
	}
	epID := *ep.VpcEndpoint.VpcEndpointId

	c.golden("guide003-update-access.txt", c.run("service", "update", "-c", "privatelink_access.kafka=true",
		"-c", "user_config.privatelink_access.schema_registry=true", "my-kafka"))
	lbARN := strings.TrimSpace(c.run("privatelink", "get", "my-kafka", "load_balancer_arn"))
	cliWait(t, "listeners on 8081 and 9092", func() bool {
		ls, err := env.ELB(cliProvider).DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbARN)})
		if err != nil {
			return false
		}
		var ports []int32
		for _, l := range ls.Listeners {
			ports = append(ports, *l.Port)
		}
		slices.Sort(ports)
		return slices.Equal(ports, []int32{8081, 9092})
	})
	cliWait(t, "connection available", func() bool {
		return strings.Contains(c.run("privatelink", "connections", "my-kafka"), "available")
	})
	c.golden("guide003-connections.txt", c.run("privatelink", "connections", "my-kafka"))
	c.golden("guide003-connection-info.txt", c.run("service", "connection-info", "my-kafka"))
	c.golden("guide003-connection-info-direct.txt", c.run("service", "connection-info", "my-kafka", "--route", "direct"))

	// Principals replaced: the user principal goes, another account comes in.
	c.golden("guide003-update-principals.txt", c.run("privatelink", "update", "--principal", "arn:aws:iam::"+cliOther+":root", "my-kafka"))
	cliWait(t, "principals replaced", func() bool {
		_, err := env.EC2(cliConsumer).DescribeVpcEndpointServices(ctx, &ec2.DescribeVpcEndpointServicesInput{ServiceNames: []string{name}})
		return err != nil && strings.Contains(err.Error(), "InvalidServiceName")
	})
	if got := c.run("privatelink", "get", "my-kafka", "principals"); got != "arn:aws:iam::"+cliOther+":root\n" {
		t.Errorf("principals %q", got)
	}

	msg := c.fail("privatelink", "delete", "my-kafka")
	if !strings.Contains(msg, "ExistingVpcEndpointConnections") || !strings.Contains(msg, epID) || !strings.Contains(msg, "--force") {
		t.Errorf("delete with a live connection: %s", msg)
	}
	if msg := c.fail("service", "delete", "my-kafka"); !strings.Contains(msg, "strait privatelink delete my-kafka") {
		t.Errorf("service delete before privatelink delete: %s", msg)
	}
	c.golden("guide003-delete.txt", c.run("privatelink", "delete", "--force", "--wait", "my-kafka"))
	lbs, _ := env.ELB(cliProvider).DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	tgs, _ := env.ELB(cliProvider).DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
	svcs, _ := env.EC2(cliProvider).DescribeVpcEndpointServiceConfigurations(ctx, &ec2.DescribeVpcEndpointServiceConfigurationsInput{})
	if len(lbs.LoadBalancers)+len(tgs.TargetGroups)+len(svcs.ServiceConfigurations) != 0 {
		t.Errorf("left behind: %d load balancers, %d target groups, %d services", len(lbs.LoadBalancers), len(tgs.TargetGroups), len(svcs.ServiceConfigurations))
	}
	c.golden("guide003-service-delete.txt", c.run("service", "delete", "my-kafka"))
}

// TestCLIGuide000 runs guide 000's flow: acceptance required, the endpoint waits in
// pendingAcceptance until `strait privatelink accept`, then connection-info gives
// the mysql command; the provider proves it owns a private DNS name and consumers
// who enable private DNS get it in connection-info.
func TestCLIGuide000(t *testing.T) {
	dns := testenv.StartDNS(t)
	env := testenv.StartConfig(t, server.Config{Dev: true, Resolver: dns.Addr})
	c := newCLI(t, env, cliProvider)
	ctx := testenv.Ctx(t)
	vpc, subnets := env.Network(cliProvider, "us-east-1a", "us-east-1b")
	cvpc, csubnets := env.Network(cliConsumer, "us-east-1a", "us-east-1b")
	c.golden("guide000-create.json", c.run("service", "create", "tidb", "--vpc-id", vpc, "--subnet-id", subnets[0], "--subnet-id", subnets[1],
		"--component", "mysql=4000:10.0.1.20", "--privatelink-access", "mysql", "-o", "json"))
	c.golden("guide000-privatelink-create.txt", c.run("privatelink", "create", "--principal", "arn:aws:iam::"+cliConsumer+":root",
		"--acceptance-required", "--private-dns-name", "tidb.example.com", "--wait", "tidb"))
	name := strings.TrimSpace(c.run("privatelink", "get", "tidb", "aws_service_name"))
	ep, err := env.EC2(cliConsumer).CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{
		VpcEndpointType: ec2types.VpcEndpointTypeInterface, VpcId: aws.String(cvpc), ServiceName: aws.String(name), SubnetIds: csubnets})
	if err != nil {
		t.Fatal(err)
	}
	id := *ep.VpcEndpoint.VpcEndpointId
	c.golden("guide000-connections-pending.json", c.run("privatelink", "connections", "tidb", "-o", "json"))
	time.Sleep(300 * time.Millisecond)
	if out := c.run("privatelink", "connections", "tidb"); !strings.Contains(out, "pendingAcceptance") {
		t.Fatalf("not waiting for acceptance:\n%s", out)
	}
	if msg := c.fail("privatelink", "accept", "tidb", "vpce-0123456789abcdef0"); !strings.Contains(msg, "1 of 1 endpoints could not be accepted") {
		t.Errorf("accepting an unknown endpoint: %s", msg)
	}
	out, progress, err := c.exec("privatelink", "accept", "--wait", "tidb", id)
	if err != nil || out != "accepted "+id+"\n" || !strings.Contains(progress, id+" available") {
		t.Fatalf("accept: %v\n%s\n%s", err, out, progress)
	}
	info := c.run("service", "connection-info", "tidb")
	c.golden("guide000-connection-info.txt", info)
	if !regexp.MustCompile(`mysql -h ` + id + `-[a-z0-9]{8}\.vpce-svc-[0-9a-f]{17}\.us-east-1\.vpce\.amazonaws\.com -P 4000`).MatchString(info) {
		t.Errorf("no mysql command in:\n%s", info)
	}

	// The private DNS name: unverified until the TXT record is published.
	var pl struct {
		Verification struct{ State, Name, Value string } `json:"private_dns_verification"`
	}
	if err := json.Unmarshal([]byte(c.run("privatelink", "get", "tidb", "-o", "json")), &pl); err != nil || pl.Verification.State != "pendingVerification" {
		t.Fatalf("verification before the record: %v %+v", err, pl)
	}
	out, _, err = c.exec("privatelink", "verify-dns", "tidb")
	if err == nil || !strings.Contains(err.Error(), "tidb.example.com is failed") || !strings.Contains(out, "private_dns_detail") {
		t.Errorf("verify-dns without the record: %v\n%s", err, out)
	}
	// The record to publish, as `privatelink get SERVICE private_dns_txt_record` prints it.
	record := c.run("privatelink", "get", "tidb", "private_dns_txt_record")
	if want := pl.Verification.Name + ".tidb.example.com TXT " + strconv.Quote(pl.Verification.Value) + "\n"; record != want {
		t.Fatalf("private_dns_txt_record %q, want %q", record, want)
	}
	if state := c.run("privatelink", "get", "tidb", "private_dns_state"); state != "failed\n" {
		t.Errorf("private_dns_state %q after a failed verification", state)
	}
	recName, recValue, _ := strings.Cut(strings.TrimSuffix(record, "\n"), " TXT ")
	value, err := strconv.Unquote(recValue)
	if err != nil {
		t.Fatal(err)
	}
	dns.SetTXT(recName, value)
	c.golden("guide000-verify-dns.txt", c.run("privatelink", "verify-dns", "tidb"))
	if _, err := env.EC2(cliConsumer).ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: aws.String(cvpc), EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.EC2(cliConsumer).ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{VpcEndpointId: aws.String(id), PrivateDnsEnabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	info = c.run("service", "connection-info", "tidb")
	if !strings.Contains(info, "mysql -h tidb.example.com -P 4000") {
		t.Errorf("connection-info without the private DNS name:\n%s", info)
	}
	c.golden("guide000-connection-info-private-dns.txt", info)
	c.golden("guide000-remove-dns.txt", c.run("privatelink", "update", "--remove-private-dns-name", "tidb"))
	if msg := c.fail("privatelink", "update", "tidb"); !strings.Contains(msg, "nothing to change") {
		t.Errorf("update without flags: %s", msg)
	}

	if out := c.run("privatelink", "reject", "tidb", id); out != "rejected "+id+"\n" {
		t.Errorf("reject: %q", out)
	}
}

// TestCLICredentials checks where the CLI finds its settings (flags, then the
// environment, then the file `strait login` writes) and that errors say what to do.
func TestCLICredentials(t *testing.T) {
	env := testenv.Start(t)
	c := newCLI(t, nil, "")
	if msg := c.fail("service", "list"); !strings.Contains(msg, "strait login") {
		t.Errorf("no settings: %s", msg)
	}
	vpc, _ := env.Network(cliProvider, "us-east-1a")
	out := c.run("login", "--endpoint", env.Server.URL(), "--access-key-id", cliProvider, "--secret-access-key", "s3cret")
	path := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "strait", "config.json")
	if !strings.Contains(out, path) {
		t.Errorf("login output %q does not name %s", out, path)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("config file: %v %v", err, st)
	}
	c.run("service", "create", "db", "--vpc-id", vpc, "--component", "postgresql=5432:10.0.1.5")
	var list struct{ Services []struct{ Name string } }
	if err := json.Unmarshal([]byte(c.run("service", "list", "-o", "json")), &list); err != nil || len(list.Services) != 1 {
		t.Fatalf("list with the config file: %v %+v", err, list)
	}
	// The environment overrides the file: another account sees nothing.
	t.Setenv("AWS_ACCESS_KEY_ID", cliOther)
	if err := json.Unmarshal([]byte(c.run("service", "list", "-o", "json")), &list); err != nil || len(list.Services) != 0 {
		t.Fatalf("list with AWS_ACCESS_KEY_ID: %v %+v", err, list)
	}
	// Flags override the environment.
	t.Setenv("STRAIT_ENDPOINT", "http://127.0.0.1:1")
	if err := json.Unmarshal([]byte(c.run("service", "list", "-o", "json", "--endpoint", env.Server.URL(), "--access-key-id", cliProvider)), &list); err != nil || len(list.Services) != 1 {
		t.Fatalf("list with flags: %v %+v", err, list)
	}
	if msg := c.fail("service", "list"); !strings.Contains(msg, "cannot reach the Strait server at http://127.0.0.1:1") {
		t.Errorf("unreachable server: %s", msg)
	}
	t.Setenv("STRAIT_ENDPOINT", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	if msg := c.fail("service", "get", "nope"); !strings.Contains(msg, "InvalidPublishedService.NotFound") || !strings.Contains(msg, "strait service list") {
		t.Errorf("unknown service: %s", msg)
	}
	if msg := c.fail("service", "update", "-c", "privatelink_access.mysql=yes", "db"); !strings.Contains(msg, "true or false") {
		t.Errorf("bad -c value: %s", msg)
	}
	if msg := c.fail("service", "update", "-c", "privatelink_access.mysql=true", "db"); !strings.Contains(msg, "InvalidComponent") || !strings.Contains(msg, "postgresql") {
		t.Errorf("unknown component: %s", msg)
	}
	if msg := c.fail("privatelink", "create", "--principal", "arn:aws:iam::1:root", "db"); !strings.Contains(msg, "InvalidPrincipal") {
		t.Errorf("bad principal: %s", msg)
	}
	if msg := c.fail("service", "list", "-o", "yaml"); !strings.Contains(msg, "table or json") {
		t.Errorf("bad output: %s", msg)
	}
}

// TestCLISignedKeys checks the native API against a server that verifies
// signatures: a real access key works, a wrong secret does not.
func TestCLISignedKeys(t *testing.T) {
	env := testenv.StartConfig(t, server.Config{})
	var acct server.AccountCreated
	c := newCLI(t, nil, "")
	if err := json.Unmarshal([]byte(c.run("account", "create", "--data-dir", env.DataDir, "-o", "json")), &acct); err != nil {
		t.Fatal(err)
	}
	base := []string{"--endpoint", env.Server.URL(), "--access-key-id", acct.AccessKeyID}
	c.run(append([]string{"service", "list", "--secret-access-key", acct.SecretAccessKey}, base...)...)
	if msg := c.fail(append([]string{"service", "list", "--secret-access-key", "wrong"}, base...)...); !strings.Contains(msg, "SignatureDoesNotMatch") {
		t.Errorf("wrong secret: %s", msg)
	}
	if msg := c.fail(append([]string{"service", "list", "--secret-access-key", acct.SecretAccessKey, "--region", "eu-west-1"}, base...)...); !strings.Contains(msg, "region") {
		t.Errorf("wrong region: %s", msg)
	}
}
