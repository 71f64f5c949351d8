package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"strait/internal/server"
	"strait/internal/testenv"
)

func runCLI(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := rootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("strait %v: %v", args, err)
	}
	return out.Bytes()
}

// TestAccountCreateAndSigV4 creates accounts and another key through the running
// server's admin socket, checks that only their real keys work, that accounts are
// isolated, and that `account list` shows every account with its key IDs.
func TestAccountCreateAndSigV4(t *testing.T) {
	env := testenv.StartConfig(t, server.Config{})
	var a, b server.AccountCreated
	if err := json.Unmarshal(runCLI(t, "account", "create", "--data-dir", env.DataDir, "-o", "json"), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(runCLI(t, "account", "create", "--data-dir", env.DataDir, "--id", "444455556666", "-o", "json"), &b); err != nil {
		t.Fatal(err)
	}
	if len(a.AccountID) != 12 || b.AccountID != "444455556666" || len(a.SecretAccessKey) != 40 || a.AccessKeyID[:4] != "AKIA" {
		t.Fatalf("accounts: %+v %+v", a, b)
	}
	ctx := testenv.Ctx(t)
	ca := ec2.NewFromConfig(env.ConfigKey(a.AccessKeyID, a.SecretAccessKey))
	cb := ec2.NewFromConfig(env.ConfigKey(b.AccessKeyID, b.SecretAccessKey))
	vpc, err := ca.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	if *vpc.Vpc.OwnerId != a.AccountID {
		t.Errorf("owner %s, want %s", *vpc.Vpc.OwnerId, a.AccountID)
	}
	// Account b sees its own default VPC only.
	seen, err := cb.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil || len(seen.Vpcs) != 1 || *seen.Vpcs[0].OwnerId != b.AccountID || !*seen.Vpcs[0].IsDefault {
		t.Errorf("account b sees %v (%v)", seen, err)
	}
	_, err = cb.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: vpc.Vpc.VpcId})
	if code(err) != "InvalidVpcID.NotFound" {
		t.Errorf("b deleting a's VPC: %v", err)
	}
	bad := ec2.NewFromConfig(env.ConfigKey(a.AccessKeyID, "wrong"+a.SecretAccessKey[5:]))
	if _, err := bad.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); code(err) != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: %v", err)
	}
	unknown := ec2.NewFromConfig(env.ConfigKey("123456789012", "x"))
	if _, err := unknown.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); code(err) != "InvalidClientTokenId" {
		t.Errorf("dev-style key on a non-dev server: %v", err)
	}

	// Another key for b: both work. Creating b again says how to get one.
	var b2 server.AccountCreated
	if err := json.Unmarshal(runCLI(t, "account", "create-key", b.AccountID, "--data-dir", env.DataDir, "-o", "json"), &b2); err != nil {
		t.Fatal(err)
	}
	if b2.AccountID != b.AccountID || b2.AccessKeyID == b.AccessKeyID || len(b2.SecretAccessKey) != 40 {
		t.Fatalf("second key: %+v (first %+v)", b2, b)
	}
	for _, k := range []server.AccountCreated{b, b2} {
		if _, err := ec2.NewFromConfig(env.ConfigKey(k.AccessKeyID, k.SecretAccessKey)).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); err != nil {
			t.Errorf("key %s: %v", k.AccessKeyID, err)
		}
	}
	if err := runCLIErr("account", "create", "--data-dir", env.DataDir, "--id", b.AccountID); err == nil ||
		!strings.Contains(err.Error(), "already exists: issue another access key for it with `strait account create-key "+b.AccountID+"`") {
		t.Errorf("creating an existing account: %v", err)
	}
	if err := runCLIErr("account", "create-key", "999999999999", "--data-dir", env.DataDir); err == nil || !strings.Contains(err.Error(), "999999999999") {
		t.Errorf("a key for an unknown account: %v", err)
	}
	checkAccountList(t, env.DataDir, map[string][]string{a.AccountID: {a.AccessKeyID}, b.AccountID: {b.AccessKeyID, b2.AccessKeyID}})
}

// checkAccountList compares `strait account list` with want (account → key IDs in
// creation order), in JSON and in the table.
func checkAccountList(t *testing.T, dataDir string, want map[string][]string) {
	t.Helper()
	var list []server.AccountInfo
	if err := json.Unmarshal(runCLI(t, "account", "list", "--data-dir", dataDir, "-o", "json"), &list); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, a := range list {
		got[a.AccountID] = a.AccessKeyIDs
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("account list: %v, want %v", got, want)
	}
	table := string(runCLI(t, "account", "list", "--data-dir", dataDir))
	for acct, keys := range want {
		if !regexp.MustCompile(`(?m)^` + acct + `  +\S+  +` + strings.Join(keys, ",") + `$`).MatchString(table) {
			t.Errorf("account %s with keys %v not in the table:\n%s", acct, keys, table)
		}
	}
}

func runCLIErr(args ...string) error {
	cmd := rootCommand()
	cmd.SetOut(io.Discard)
	cmd.SetArgs(args)
	return cmd.Execute()
}

// TestAccountCreateOffline creates an account and a second key with no server
// running: the store is opened directly, and a server started later accepts both
// keys.
func TestAccountCreateOffline(t *testing.T) {
	dir := t.TempDir()
	var a server.AccountCreated
	if err := json.Unmarshal(runCLI(t, "account", "create", "--data-dir", dir, "-o", "json"), &a); err != nil {
		t.Fatal(err)
	}
	var a2 server.AccountCreated
	if err := json.Unmarshal(runCLI(t, "account", "create-key", a.AccountID, "--data-dir", dir, "-o", "json"), &a2); err != nil {
		t.Fatal(err)
	}
	checkAccountList(t, dir, map[string][]string{a.AccountID: {a.AccessKeyID, a2.AccessKeyID}})
	env := testenv.StartConfig(t, server.Config{DataDir: dir})
	for _, k := range []server.AccountCreated{a, a2} {
		c := ec2.NewFromConfig(env.ConfigKey(k.AccessKeyID, k.SecretAccessKey))
		if _, err := c.DescribeVpcs(testenv.Ctx(t), &ec2.DescribeVpcsInput{}); err != nil {
			t.Fatal(err)
		}
	}
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
