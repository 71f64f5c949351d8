package awsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"strait/internal/testenv"
)

// terraformProviderDirs are where the hashicorp/aws provider may be installed, as
// a local filesystem mirror (unpacked layout); STRAIT_TF_PROVIDER_DIR overrides.
var terraformProviderDirs = []string{"/opt/tf-plugins/registry.terraform.io/hashicorp/aws/*/linux_amd64"}

// terraformTool finds the terraform binary and the directory of the aws
// provider's binary; without them the test skips, or fails with STRAIT_E2E=1.
func terraformTool(t *testing.T) (bin, providerDir string) {
	t.Helper()
	bin, err := exec.LookPath("terraform")
	if err != nil {
		testenv.SkipUnlessE2E(t, "terraform is not installed")
	}
	patterns := terraformProviderDirs
	if dir := os.Getenv("STRAIT_TF_PROVIDER_DIR"); dir != "" {
		patterns = []string{dir}
	}
	for _, p := range patterns {
		dirs, _ := filepath.Glob(p)
		for _, d := range dirs {
			if bins, _ := filepath.Glob(filepath.Join(d, "terraform-provider-aws*")); len(bins) > 0 {
				return bin, d
			}
		}
	}
	testenv.SkipUnlessE2E(t, "the hashicorp/aws Terraform provider is not in a local mirror (set STRAIT_TF_PROVIDER_DIR)")
	return "", ""
}

// TestTerraformGuide004 applies guide 004 (the producer's VPC, subnets, NLB with a
// security group, target group, target, listener with a 600 s TCP idle timeout,
// endpoint service and allowed principal) plus a consumer's VPC, subnet, security
// group and interface endpoint, and reads the consumer's default VPC, with
// Terraform and the hashicorp/aws provider, from a local copy of the provider
// (dev_overrides: nothing is downloaded). Then a
// second plan must find no changes, and destroy must leave nothing behind. Every
// read the provider makes after a create (DescribeListenerAttributes among them)
// must be answered as AWS does, or the apply fails.
func TestTerraformGuide004(t *testing.T) {
	bin, providerDir := terraformTool(t)
	env := testenv.Start(t)
	work := t.TempDir()
	src, err := os.ReadFile(filepath.Join("testdata", "terraform", "guide004", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "main.tf"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	cliConfig := filepath.Join(work, "cli.tfrc")
	rc := "provider_installation {\n  dev_overrides {\n    \"hashicorp/aws\" = \"" + providerDir + "\"\n  }\n  direct {}\n}\n"
	if err := os.WriteFile(cliConfig, []byte(rc), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	tf := func(args ...string) (string, error) {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = work
		cmd.Env = append(testenv.CleanEnv(), "TF_CLI_CONFIG_FILE="+cliConfig, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1",
			"TF_INPUT=0", "TF_VAR_endpoint="+env.Server.URL(), "TF_DATA_DIR="+filepath.Join(work, ".terraform"))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			if out, err := tf("destroy", "-auto-approve", "-no-color"); err != nil {
				t.Logf("terraform destroy after a failure: %v\n%s", err, out)
			}
		}
	})

	if out, err := tf("apply", "-auto-approve", "-no-color"); err != nil {
		t.Fatalf("terraform apply: %v\n%s", err, out)
	}
	raw, err := tf("output", "-json")
	if err != nil {
		t.Fatalf("terraform output: %v\n%s", err, raw)
	}
	var outputs map[string]struct{ Value string }
	if err := json.Unmarshal([]byte(raw), &outputs); err != nil {
		t.Fatalf("terraform output: %v\n%s", err, raw)
	}
	if got := outputs["consumer_default_vpc_cidr"].Value; got != "172.31.0.0/16" {
		t.Errorf("the consumer's default VPC as Terraform reads it: %q", got)
	}
	qctx := testenv.Ctx(t)
	ep, err := env.EC2(consumer).DescribeVpcEndpoints(qctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{outputs["endpoint_id"].Value}})
	if err != nil || len(ep.VpcEndpoints) != 1 || ep.VpcEndpoints[0].State != "available" || *ep.VpcEndpoints[0].ServiceName != outputs["service_name"].Value {
		t.Errorf("the consumer's endpoint after apply: %v %+v", err, ep)
	}
	attrs, err := env.ELB(provider).DescribeListenerAttributes(qctx, &elbv2.DescribeListenerAttributesInput{ListenerArn: aws.String(outputs["listener_arn"].Value)})
	if err != nil || len(attrs.Attributes) != 1 || *attrs.Attributes[0].Key != "tcp.idle_timeout.seconds" || *attrs.Attributes[0].Value != "600" {
		t.Errorf("listener attributes after apply: %v %+v", err, attrs)
	}

	// A second plan finds nothing to change: every attribute read back is what was set.
	out, err := tf("plan", "-detailed-exitcode", "-no-color")
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 2 {
		t.Errorf("terraform plan after apply wants changes:\n%s", out)
	} else if err != nil {
		t.Fatalf("terraform plan: %v\n%s", err, out)
	}

	if out, err := tf("destroy", "-auto-approve", "-no-color"); err != nil {
		t.Fatalf("terraform destroy: %v\n%s", err, out)
	}
	destroyed = true
	qctx = testenv.Ctx(t)
	for _, acct := range []string{provider, consumer} {
		vpcs, err := env.EC2(acct).DescribeVpcs(qctx, &ec2.DescribeVpcsInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vpcs.Vpcs {
			if v.IsDefault == nil || !*v.IsDefault {
				t.Errorf("account %s: VPC %s left after destroy", acct, *v.VpcId)
			}
		}
		lbs, err := env.ELB(acct).DescribeLoadBalancers(qctx, &elbv2.DescribeLoadBalancersInput{})
		if err != nil || len(lbs.LoadBalancers) != 0 {
			t.Errorf("account %s: load balancers after destroy: %v %+v", acct, err, lbs)
		}
	}
}
