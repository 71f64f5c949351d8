package main

import (
	"bytes"
	"encoding/json"
	"errors"
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

// TestAccountCreateAndSigV4 creates accounts through the running server's admin socket
// and checks that only their real keys work, and that accounts are isolated.
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
}

// TestAccountCreateOffline creates an account with no server running: the store is
// opened directly, and a server started later accepts the key.
func TestAccountCreateOffline(t *testing.T) {
	dir := t.TempDir()
	var a server.AccountCreated
	if err := json.Unmarshal(runCLI(t, "account", "create", "--data-dir", dir, "-o", "json"), &a); err != nil {
		t.Fatal(err)
	}
	env := testenv.StartConfig(t, server.Config{DataDir: dir})
	c := ec2.NewFromConfig(env.ConfigKey(a.AccessKeyID, a.SecretAccessKey))
	if _, err := c.DescribeVpcs(testenv.Ctx(t), &ec2.DescribeVpcsInput{}); err != nil {
		t.Fatal(err)
	}
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
