package awsapi_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"strait/internal/server"
	"strait/internal/testenv"
)

// closeIdle returns an HTTP client for SDK clients whose idle connections are
// closed when the test ends, before the server stops: connections the transport
// dialled during a burst of concurrent calls but never used would otherwise hold
// up the server's graceful shutdown (it waits 5 s for such "new" connections).
// It also closes the default transport's idle connections.
func closeIdle(t *testing.T) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		http.DefaultClient.CloseIdleConnections()
	})
	return &http.Client{Transport: tr}
}

// authAccount creates an account with a real access key on a non-dev server.
func authAccount(t *testing.T, env *testenv.Env, id string) server.AccountCreated {
	t.Helper()
	a, err := server.CreateAccount(testenv.Ctx(t), env.Server.Control(), id)
	if err != nil {
		t.Fatal(err)
	}
	if a.AccountID != id || a.AccessKeyID == "" || a.SecretAccessKey == "" {
		t.Fatalf("CreateAccount(%s) = %+v", id, a)
	}
	return a
}

// TestRealKeys runs a server without dev mode: only real access keys with their
// secrets get in, each acts as its own account, and the errors are AWS's.
func TestRealKeys(t *testing.T) {
	env := testenv.StartConfig(t, server.Config{})
	ctx := testenv.Ctx(t)
	closeIdle(t)
	alice, bob := authAccount(t, env, "444444444444"), authAccount(t, env, "555555555555")
	ae := ec2.NewFromConfig(env.ConfigKey(alice.AccessKeyID, alice.SecretAccessKey))
	be := ec2.NewFromConfig(env.ConfigKey(bob.AccessKeyID, bob.SecretAccessKey))

	v, err := ae.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc with a real key: %v", err)
	}
	if got := aws.ToString(v.Vpc.OwnerId); got != alice.AccountID {
		t.Errorf("VPC owner = %s, want %s", got, alice.AccountID)
	}
	if _, err := ec2.NewFromConfig(env.ConfigKey(alice.AccessKeyID, alice.SecretAccessKey)).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{*v.Vpc.VpcId}}); err != nil {
		t.Errorf("DescribeVpcs by the owner: %v", err)
	}
	_, err = be.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{*v.Vpc.VpcId}})
	netWantCode(t, err, "InvalidVpcID.NotFound")
	if _, err := elbv2.NewFromConfig(env.ConfigKey(bob.AccessKeyID, bob.SecretAccessKey)).DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{}); err != nil {
		t.Errorf("ELBv2 with a real key: %v", err)
	}

	for _, c := range []struct {
		name, key, secret, code string
	}{
		{"wrong secret", alice.AccessKeyID, bob.SecretAccessKey, "SignatureDoesNotMatch"},
		{"another account's secret", bob.AccessKeyID, alice.SecretAccessKey, "SignatureDoesNotMatch"},
		{"an account ID as the key (dev style)", alice.AccountID, "secret", "InvalidClientTokenId"},
		{"unknown key", "AKIAUNKNOWNUNKNOWN00", "secret", "InvalidClientTokenId"},
	} {
		_, err := ec2.NewFromConfig(env.ConfigKey(c.key, c.secret)).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
		if got := netErrCode(err); got != c.code {
			t.Errorf("EC2 with %s: %v, want %s", c.name, err, c.code)
		}
		_, err = elbv2.NewFromConfig(env.ConfigKey(c.key, c.secret)).DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
		if got := netErrCode(err); got != c.code {
			t.Errorf("ELBv2 with %s: %v, want %s", c.name, err, c.code)
		}
	}

	// A presigned GET carries its signature in the query string.
	presign := func(secret string, at time.Time) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, env.Server.URL()+"/?Action=DescribeVpcs&Version=2016-11-15&X-Amz-Expires=60", nil)
		if err != nil {
			t.Fatal(err)
		}
		empty := sha256.Sum256(nil)
		u, hdr, err := v4.NewSigner().PresignHTTP(ctx, aws.Credentials{AccessKeyID: alice.AccessKeyID, SecretAccessKey: secret}, req, hex.EncodeToString(empty[:]), "ec2", testenv.Region, at)
		if err != nil {
			t.Fatal(err)
		}
		get, _ := http.NewRequest(http.MethodGet, u, nil)
		for k, v := range hdr {
			get.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(get)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for _, c := range []struct {
		name   string
		secret string
		at     time.Time
		status int
		want   string
	}{
		{"valid", alice.SecretAccessKey, time.Now(), 200, *v.Vpc.VpcId},
		{"wrong secret", "nope", time.Now(), 403, "<Code>SignatureDoesNotMatch</Code>"},
		{"expired", alice.SecretAccessKey, time.Now().Add(-2 * time.Minute), 403, "<Code>RequestExpired</Code>"},
	} {
		resp := presign(c.secret, c.at)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(body), c.want) {
			t.Errorf("presigned GET, %s: %d\n%s\nwant %d and %s", c.name, resp.StatusCode, body, c.status, c.want)
		}
	}
}

// TestRegionMismatch checks that a client configured for another region is told
// which region the server serves.
func TestRegionMismatch(t *testing.T) {
	env := testenv.Start(t)
	cfg := env.Config(provider)
	cfg.Region = "eu-west-3"
	for name, call := range map[string]func() error{
		"ec2": func() error {
			_, err := ec2.NewFromConfig(cfg).DescribeVpcs(testenv.Ctx(t), &ec2.DescribeVpcsInput{})
			return err
		},
		"elbv2": func() error {
			_, err := elbv2.NewFromConfig(cfg).DescribeLoadBalancers(testenv.Ctx(t), &elbv2.DescribeLoadBalancersInput{})
			return err
		},
	} {
		err := call()
		if got := netErrCode(err); got != "AuthFailure" || !strings.Contains(err.Error(), "serves region us-east-1") || !strings.Contains(err.Error(), "eu-west-3") {
			t.Errorf("%s signed for eu-west-3: %v (code %q), want AuthFailure naming both regions", name, err, got)
		}
	}
	msg := env.AWSError(provider, "ec2", "describe-vpcs", "--region", "eu-west-3")
	if !strings.Contains(msg, "AuthFailure") || !strings.Contains(msg, "us-east-1") {
		t.Errorf("aws ec2 describe-vpcs --region eu-west-3: %s", msg)
	}
}

// TestConcurrentRequests creates subnets in one VPC and load balancers in one
// subnet from many goroutines at once: everything succeeds, without 500s, and no
// address is handed out twice.
func TestConcurrentRequests(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	hc := closeIdle(t)
	cfg := env.Config(provider)
	cfg.HTTPClient = hc
	e, l := ec2.NewFromConfig(cfg), elbv2.NewFromConfig(cfg)
	v, err := e.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	vpc := *v.Vpc.VpcId
	const n = 50

	// run calls f(i) for i in [0, n) concurrently and returns the errors.
	run := func(f func(i int) error) []error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = f(i)
			}()
		}
		close(start)
		wg.Wait()
		return errs
	}
	check := func(what string, errs []error) {
		t.Helper()
		for i, err := range errs {
			if err != nil {
				t.Errorf("%s %d: %v", what, i, err)
			}
		}
	}

	subnets := make([]string, n)
	check("CreateSubnet", run(func(i int) error {
		s, err := e.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpc), CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i)),
			AvailabilityZone: aws.String(testenv.Region + string(rune('a'+i%3)))})
		if err == nil {
			subnets[i] = *s.Subnet.SubnetId
		}
		return err
	}))
	// The same CIDR from every goroutine: exactly one wins.
	won := 0
	for _, err := range run(func(i int) error {
		_, err := e.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpc), CidrBlock: aws.String("10.0.200.0/24")})
		return err
	}) {
		switch code := netErrCode(err); {
		case err == nil:
			won++
		case code != "InvalidSubnet.Conflict":
			t.Errorf("CreateSubnet with a taken CIDR: %v, want InvalidSubnet.Conflict", err)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent CreateSubnet with one CIDR succeeded, want 1", won, n)
	}
	out, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{filter("vpc-id", vpc)}})
	if err != nil || len(out.Subnets) != n+1 {
		t.Fatalf("DescribeSubnets: %v, %d subnets, want %d", err, len(out.Subnets), n+1)
	}

	lbs := make([]string, n)
	check("CreateLoadBalancer", run(func(i int) error {
		o, err := l.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String(fmt.Sprintf("nlb-%d", i)), Type: elbtypes.LoadBalancerTypeEnumNetwork,
			Scheme: elbtypes.LoadBalancerSchemeEnumInternal, Subnets: []string{subnets[0]}})
		if err == nil {
			lbs[i] = *o.LoadBalancers[0].LoadBalancerArn
		}
		return err
	}))
	enis, err := e.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{filter("subnet-id", subnets[0])}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, ni := range enis.NetworkInterfaces {
		ip := aws.ToString(ni.PrivateIpAddress)
		if other, dup := seen[ip]; dup {
			t.Errorf("interfaces %s and %s both have %s", other, *ni.NetworkInterfaceId, ip)
		}
		seen[ip] = *ni.NetworkInterfaceId
	}
	if len(enis.NetworkInterfaces) != n {
		t.Errorf("%d interfaces in the subnet, want %d (one per load balancer)", len(enis.NetworkInterfaces), n)
	}

	// The same target group and the same listener asked for at once: one of each,
	// and every caller gets it.
	tgs := make([]string, n)
	check("CreateTargetGroup", run(func(i int) error {
		o, err := l.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("shared"), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(80),
			VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp})
		if err == nil {
			tgs[i] = *o.TargetGroups[0].TargetGroupArn
		}
		return err
	}))
	listeners := make([]string, n)
	check("CreateListener", run(func(i int) error {
		o, err := l.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(lbs[0]), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(80),
			DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgs[0])}}})
		if err == nil {
			listeners[i] = *o.Listeners[0].ListenerArn
		}
		return err
	}))
	for i := range n {
		if tgs[i] != tgs[0] || listeners[i] != listeners[0] {
			t.Fatalf("caller %d got target group %s and listener %s, caller 0 %s and %s", i, tgs[i], listeners[i], tgs[0], listeners[0])
		}
	}
	ls, err := l.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbs[0])})
	if err != nil || len(ls.Listeners) != 1 {
		t.Errorf("DescribeListeners: %v, %d listeners, want 1", err, len(ls.Listeners))
	}

	check("DeleteLoadBalancer", run(func(i int) error {
		_, err := l.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lbs[i])})
		return err
	}))
	enis, err = e.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{filter("subnet-id", subnets[0])}})
	if err != nil || len(enis.NetworkInterfaces) != 0 {
		t.Errorf("after deleting the load balancers: %v, %d interfaces left", err, len(enis.NetworkInterfaces))
	}
	check("DeleteSubnet", run(func(i int) error {
		_, err := e.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(subnets[i])})
		return err
	}))
}

// TestCreateListenerIdempotent checks AWS's rule for CreateListener: asking again
// for a listener with the same settings returns the existing one; a different
// listener on a used port is DuplicateListener.
func TestCreateListenerIdempotent(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	n := nlbNetwork(t, env, provider, "10.0.0.0/16")
	l := env.ELB(provider)
	lb := nlbCreate(t, l, "idem", n.subnets[0])
	tg := nlbTargetGroup(t, l, "idem-a", n.vpc, 80)
	other := nlbTargetGroup(t, l, "idem-b", n.vpc, 80)
	first := nlbListener(t, l, *lb.LoadBalancerArn, tg, 80)
	if again := nlbListener(t, l, *lb.LoadBalancerArn, tg, 80); again != first {
		t.Errorf("CreateListener again with the same settings = %s, want %s", again, first)
	}
	// The ForwardConfig form of the same action is the same setting.
	o, err := l.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(80),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{
			TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String(tg)}}}}}})
	if err != nil || *o.Listeners[0].ListenerArn != first {
		t.Errorf("CreateListener again with a ForwardConfig: %v, want %s", err, first)
	}
	_, err = l.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(80),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(other)}}})
	netWantCode(t, err, "DuplicateListener")
	ls, err := l.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil || len(ls.Listeners) != 1 {
		t.Fatalf("DescribeListeners: %v, %+v, want one listener", err, ls)
	}
	tgs, err := l.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{tg, other}})
	if err != nil {
		t.Fatal(err)
	}
	if got := tgs.TargetGroups[0].LoadBalancerArns; len(got) != 1 || len(tgs.TargetGroups[1].LoadBalancerArns) != 0 {
		t.Errorf("load balancers of the target groups: %v and %v, want the NLB and none", got, tgs.TargetGroups[1].LoadBalancerArns)
	}
}

// TestDeleteLoadBalancerRacesService deletes load balancers while endpoint services
// are created for them: never do both succeed, which would leave a service
// publishing a load balancer that is gone.
func TestDeleteLoadBalancerRacesService(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	hc := closeIdle(t)
	cfg := env.Config(provider)
	cfg.HTTPClient = hc
	e, l := ec2.NewFromConfig(cfg), elbv2.NewFromConfig(cfg)
	n := nlbNetwork(t, env, provider, "10.0.0.0/16")
	for i := range 20 {
		lb := nlbCreate(t, l, fmt.Sprintf("race-%d", i), n.subnets[0])
		var wg sync.WaitGroup
		var delErr, svcErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, delErr = l.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn})
		}()
		go func() {
			defer wg.Done()
			_, svcErr = e.CreateVpcEndpointServiceConfiguration(ctx, &ec2.CreateVpcEndpointServiceConfigurationInput{NetworkLoadBalancerArns: []string{*lb.LoadBalancerArn}})
		}()
		wg.Wait()
		switch {
		case delErr == nil && svcErr == nil:
			t.Fatalf("round %d: both DeleteLoadBalancer and CreateVpcEndpointServiceConfiguration succeeded", i)
		case delErr != nil && netErrCode(delErr) != "ResourceInUse":
			t.Fatalf("round %d: DeleteLoadBalancer: %v", i, delErr)
		case svcErr != nil && netErrCode(svcErr) != "InvalidParameter":
			t.Fatalf("round %d: CreateVpcEndpointServiceConfiguration: %v", i, svcErr)
		}
	}
}
