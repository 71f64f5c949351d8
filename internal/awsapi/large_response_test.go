package awsapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"strait/internal/testenv"
)

// largeEndpointCount is the size of the DescribeVpcEndpoints page these tests read:
// about 70 KB of XML, far more than an HTTP client reads from its socket at once.
const largeEndpointCount = 50

// largeEndpointSet publishes a service as the provider and gives the consumer n
// interface endpoints to it.
func largeEndpointSet(tb testing.TB, env *testenv.Env, n int) {
	tb.Helper()
	ctx := testenv.Ctx(tb)
	_, subnets := env.Network(provider, "us-east-1a")
	lb, err := env.ELB(provider).CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String("large-nlb"), Type: elbtypes.LoadBalancerTypeEnumNetwork,
		Scheme: elbtypes.LoadBalancerSchemeEnumInternal, Subnets: subnets,
	})
	if err != nil {
		tb.Fatal(err)
	}
	p := env.EC2(provider)
	svc, err := p.CreateVpcEndpointServiceConfiguration(ctx, &ec2.CreateVpcEndpointServiceConfigurationInput{
		NetworkLoadBalancerArns: []string{*lb.LoadBalancers[0].LoadBalancerArn}, AcceptanceRequired: aws.Bool(false)})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := p.ModifyVpcEndpointServicePermissions(ctx, &ec2.ModifyVpcEndpointServicePermissionsInput{
		ServiceId: svc.ServiceConfiguration.ServiceId, AddAllowedPrincipals: []string{"arn:aws:iam::" + consumer + ":root"}}); err != nil {
		tb.Fatal(err)
	}
	vpc, csubnets := env.Network(consumer, "us-east-1a")
	c := env.EC2(consumer)
	for i := range n {
		if _, err := c.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{
			VpcEndpointType: ec2types.VpcEndpointTypeInterface, VpcId: aws.String(vpc),
			ServiceName: svc.ServiceConfiguration.ServiceName, SubnetIds: csubnets,
		}); err != nil {
			tb.Fatalf("endpoint %d: %v", i, err)
		}
	}
}

// noRetryEC2 is an EC2 client for acct that makes exactly one attempt per call, so
// that a failed attempt is an error instead of a retry after a back-off.
func noRetryEC2(env *testenv.Env, acct string) *ec2.Client {
	cfg := env.Config(acct)
	cfg.Retryer = nil
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.RetryMaxAttempts = 1 })
}

// TestDescribeVpcEndpointsLargeResponse reads a page of 50 endpoints 300 times in a
// row with aws-sdk-go-v2 and no retries: every call must succeed. Without
// compression 1 to 12 calls of 300 failed with "use of closed network connection":
// the SDK closes the request body as soon as the response headers arrive, Go's
// transport, still finishing the request write on a loaded host, fails on the
// closed body and closes the connection under the response body (see writeResponse).
func TestDescribeVpcEndpointsLargeResponse(t *testing.T) {
	env := testenv.Start(t)
	largeEndpointSet(t, env, largeEndpointCount)
	c := noRetryEC2(env, consumer)
	const calls = 300
	var failed []string
	for i := range calls {
		out, err := c.DescribeVpcEndpoints(context.Background(), &ec2.DescribeVpcEndpointsInput{})
		if err != nil {
			failed = append(failed, fmt.Sprintf("call %d: %v", i, err))
			continue
		}
		if len(out.VpcEndpoints) != largeEndpointCount {
			t.Fatalf("call %d: %d endpoints, want %d", i, len(out.VpcEndpoints), largeEndpointCount)
		}
	}
	if len(failed) > 0 {
		t.Fatalf("%d of %d calls failed; first: %s", len(failed), calls, failed[0])
	}
}

// BenchmarkDescribeVpcEndpointsSDK measures sequential DescribeVpcEndpoints calls
// reading 50 endpoints with one aws-sdk-go-v2 client (the test environment's retry
// policy: connection errors are retried after the SDK's back-off).
func BenchmarkDescribeVpcEndpointsSDK(b *testing.B) {
	env := testenv.Start(b)
	largeEndpointSet(b, env, largeEndpointCount)
	c := env.EC2(consumer)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out, err := c.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{})
		if err != nil {
			b.Fatal(err)
		}
		if len(out.VpcEndpoints) != largeEndpointCount {
			b.Fatalf("%d endpoints, want %d", len(out.VpcEndpoints), largeEndpointCount)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// rawDescribe sends a signed DescribeVpcEndpoints (or another EC2 action) for the
// consumer with the given Accept-Encoding ("" for none) through a transport that
// neither asks for nor decodes compression, and returns the response and its body
// as sent.
func rawDescribe(t *testing.T, env *testenv.Env, action, acceptEncoding string) (*http.Response, []byte) {
	t.Helper()
	body := "Action=" + action + "&Version=2016-11-15"
	req, err := http.NewRequest(http.MethodPost, env.Server.URL()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: consumer, SecretAccessKey: "secret"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "ec2", testenv.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d\n%s", action, resp.StatusCode, out)
	}
	return resp, out
}

// TestLargeResponseContentCoding checks the content negotiation of responses: a
// large one is gzip-coded only for a client that accepts gzip, with the coded length;
// a small one never is.
func TestLargeResponseContentCoding(t *testing.T) {
	env := testenv.Start(t)
	largeEndpointSet(t, env, largeEndpointCount)
	items := func(doc []byte) int { return bytes.Count(doc, []byte("<vpcEndpointId>")) }

	for _, ae := range []string{"", "identity", "gzip;q=0"} {
		resp, doc := rawDescribe(t, env, "DescribeVpcEndpoints", ae)
		if ce := resp.Header.Get("Content-Encoding"); ce != "" || items(doc) != largeEndpointCount {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, %d endpoints in %d bytes", ae, ce, items(doc), len(doc))
		}
	}

	resp, z := rawDescribe(t, env, "DescribeVpcEndpoints", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.ContentLength != int64(len(z)) || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("gzip accepted: Content-Encoding %q, Content-Length %d for %d bytes, Vary %q",
			resp.Header.Get("Content-Encoding"), resp.ContentLength, len(z), resp.Header.Get("Vary"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := io.ReadAll(zr)
	if err != nil || items(doc) != largeEndpointCount {
		t.Fatalf("decoded: %v, %d endpoints", err, items(doc))
	}
	t.Logf("%d endpoints: %d bytes of XML, %d gzip-coded", largeEndpointCount, len(doc), len(z))

	resp, small := rawDescribe(t, env, "DescribeVpcEndpointServices", "gzip")
	if ce := resp.Header.Get("Content-Encoding"); ce != "" || !bytes.Contains(small, []byte("</DescribeVpcEndpointServicesResponse>")) {
		t.Errorf("small response: Content-Encoding %q, %d bytes", ce, len(small))
	}
}
