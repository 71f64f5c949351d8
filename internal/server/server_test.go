package server_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"strait/internal/testenv"
)

// TestRestartKeepsState stops the server and starts a new one on the same data
// directory: everything created before is still there.
func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	env := testenv.StartIn(t, dir)
	ctx := testenv.Ctx(t)
	vpc, err := env.EC2("123456789012").CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.EC2("123456789012").CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.1.2.0/24")}); err != nil {
		t.Fatal(err)
	}
	env.Stop()
	if _, err := os.Stat(filepath.Join(dir, "admin.sock")); !os.IsNotExist(err) {
		t.Errorf("admin socket left behind after stop: %v", err)
	}

	env = testenv.StartIn(t, dir)
	out, err := env.EC2("123456789012").DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{*vpc.Vpc.VpcId}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Subnets) != 1 || *out.Subnets[0].VpcId != *vpc.Vpc.VpcId || *out.Subnets[0].CidrBlock != "10.1.2.0/24" {
		t.Fatalf("after restart: %+v", out.Subnets)
	}
}

// TestHealthAndMetrics checks /healthz and /metrics, and that unknown paths and
// unsigned requests get AWS-format errors, not HTML.
func TestHealthAndMetrics(t *testing.T) {
	env := testenv.Start(t)
	get := func(path string) (int, string) {
		resp, err := http.Get(env.Server.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	env.WaitReady()
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if _, err := env.EC2("123456789012").DescribeVpcs(testenv.Ctx(t), &ec2.DescribeVpcsInput{}); err != nil {
		t.Fatal(err)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, `strait_api_requests_total{action="DescribeVpcs",code="",service="ec2"} 1`) {
		t.Errorf("/metrics: %d\n%s", code, body)
	}
	code, body := get("/?Action=DescribeVpcs")
	if code != 403 || !strings.Contains(body, "<Code>MissingAuthenticationToken</Code>") {
		t.Errorf("unsigned request: %d %s", code, body)
	}
}
