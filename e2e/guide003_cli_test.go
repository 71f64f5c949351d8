package e2e_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"strait/internal/server"
	"strait/internal/testenv"
)

const otherAcct = "333333333333"

// TestGuide003WithStraitCLI runs guide 003's flow with the strait CLI on real
// traffic: a kafka-like service whose components are line servers in provider
// instances, published to a consumer principal; the consumer's endpoint (AWS CLI,
// the printed service name) reaches the two components with PrivateLink access and
// not the third; traffic shows in `privatelink connections`; replacing the
// principals shuts the consumer out of new endpoints; delete removes everything.
func TestGuide003WithStraitCLI(t *testing.T) { onBothPaths(t, testGuide003WithStraitCLI) }

func testGuide003WithStraitCLI(t *testing.T, cfg server.Config) {
	env := testenv.StartNetns(t, cfg)
	p := cli{t, env, providerAcct}
	c := cli{t, env, consumerAcct}
	sp := buildStrait(t, env, providerAcct)

	vpc, subnets := p.network("10.0.0.0/16", "a", "b")
	sg := p.run("ec2", "create-security-group", "--group-name", "kafka", "--description", "kafka components", "--vpc-id", vpc, "--query", "GroupId")
	for _, port := range []string{"9092", "8083", "8081"} {
		p.run("ec2", "authorize-security-group-ingress", "--group-id", sg, "--protocol", "tcp", "--port", port, "--cidr", "10.0.0.0/16")
	}
	broker1, _ := p.instance(subnets[0], "--security-group-ids", sg)
	broker2, _ := p.instance(subnets[1], "--security-group-ids", sg)
	connect, _ := p.instance(subnets[0], "--security-group-ids", sg)
	registry, _ := p.instance(subnets[1], "--security-group-ids", sg)
	lineServe(t, broker1, 9092, "kafka-1")
	lineServe(t, broker2, 9092, "kafka-2")
	lineServe(t, connect, 8083, "kafka_connect")
	lineServe(t, registry, 8081, "schema_registry")

	sp.run("service", "create", "my-kafka", "--vpc-id", vpc, "--component", "kafka=9092:"+broker1+","+broker2,
		"--component", "kafka_connect=8083:"+connect, "--component", "schema_registry=8081:"+registry)
	sp.run("privatelink", "create", "--principal", "arn:aws:iam::"+consumerAcct+":user/mwf", "--wait", "my-kafka")
	name := sp.run("privatelink", "get", "my-kafka", "aws_service_name")

	// The consumer: the same 10.0.0.0/16, an instance, an endpoint to the printed name.
	cvpc, csubs := c.network("10.0.0.0/16", "a", "b")
	client, _ := c.instance(csubs[0])
	vpce := c.run("ec2", "create-vpc-endpoint", "--vpc-endpoint-type", "Interface", "--vpc-id", cvpc, "--subnet-ids", csubs[0], csubs[1],
		"--service-name", name, "--query", "VpcEndpoint.VpcEndpointId")
	c.wait("available", 30*time.Second, "ec2", "describe-vpc-endpoints", "--vpc-endpoint-ids", vpce, "--query", "VpcEndpoints[0].State")

	sp.run("service", "update", "-c", "privatelink_access.kafka=true", "-c", "privatelink_access.schema_registry=true", "my-kafka")
	var info struct {
		Entries []struct {
			Component, Host string
			Port            int32
		}
	}
	sp.json(&info, "service", "connection-info", "my-kafka")
	hosts := map[string]string{}
	for _, e := range info.Entries {
		hosts[e.Component] = e.Host
	}
	if len(info.Entries) != 2 || hosts["kafka"] == "" || hosts["schema_registry"] == "" {
		t.Fatalf("connection-info: %+v", info.Entries)
	}
	host := hosts["kafka"]
	if !strings.HasPrefix(host, vpce+"-") {
		t.Fatalf("connection-info host %q is not %s's DNS name", host, vpce)
	}
	testenv.Eventually(t, 2*time.Minute, "both enabled components answering through the endpoint", func() error {
		for comp, port := range map[string]int32{"kafka": 9092, "schema_registry": 8081} {
			got, err := askHost(t, client, host, port, "ping")
			if err != nil {
				return err
			}
			if !strings.HasPrefix(got, strings.Split(comp, "_")[0]) || !strings.HasSuffix(got, " ping") {
				return fmt.Errorf("%s answered %q", comp, got)
			}
		}
		return nil
	})
	brokers := map[string]bool{}
	for i := 0; i < 20 && len(brokers) < 2; i++ {
		got, err := askHost(t, client, host, 9092, "hello")
		if err != nil {
			t.Fatalf("kafka through the endpoint: %v", err)
		}
		brokers[strings.Fields(got)[0]] = true
	}
	if len(brokers) != 2 {
		t.Errorf("20 connections reached only %v", brokers)
	}
	if got, err := askHost(t, client, host, 8083, "ping"); err == nil {
		t.Errorf("kafka_connect (no PrivateLink access) answered through the endpoint: %q", got)
	}
	ip := endpointIP(c, vpce)
	if canDial(t, client, ip+":8083") {
		t.Errorf("port 8083 is open on the endpoint without access")
	}

	// The provider sees the connection and its traffic.
	testenv.Eventually(t, 2*time.Minute, "traffic in privatelink connections", func() error {
		var list struct {
			Connections []struct {
				EndpointID string `json:"endpoint_id"`
				State      string
				Traffic    *struct {
					Connections uint64
					BytesIn     uint64 `json:"bytes_in"`
					BytesOut    uint64 `json:"bytes_out"`
				}
			}
		}
		sp.json(&list, "privatelink", "connections", "my-kafka")
		if len(list.Connections) != 1 || list.Connections[0].EndpointID != vpce || list.Connections[0].State != "available" {
			return fmt.Errorf("connections %+v", list.Connections)
		}
		tr := list.Connections[0].Traffic
		// Bytes both ways (the kernel path counts IP packets, headers included,
		// as AWS's ProcessedBytes does, so small exchanges do not compare like
		// their payloads; TestKernelCounters checks the amounts).
		if tr == nil || tr.Connections < 4 || tr.BytesIn == 0 || tr.BytesOut == 0 {
			return fmt.Errorf("traffic %+v", tr)
		}
		return nil
	})
	if table := sp.run("privatelink", "connections", "my-kafka"); !strings.Contains(table, vpce) || strings.Contains(table, "—") {
		t.Errorf("connections table:\n%s", table)
	}

	// Principals replaced: the consumer can no longer create endpoints; its existing
	// connection stays up, as on AWS.
	sp.run("privatelink", "update", "--principal", "arn:aws:iam::"+otherAcct+":root", "my-kafka")
	testenv.Eventually(t, 2*time.Minute, "the removed principal refused", func() error {
		msg := env.AWSError(consumerAcct, "ec2", "create-vpc-endpoint", "--vpc-endpoint-type", "Interface", "--vpc-id", cvpc,
			"--subnet-ids", csubs[0], "--service-name", name)
		if !strings.Contains(msg, "InvalidServiceName") {
			return fmt.Errorf("create-vpc-endpoint after removal: %s", msg)
		}
		return nil
	})
	if _, err := askHost(t, client, host, 9092, "still"); err != nil {
		t.Errorf("existing endpoint after the principal change: %v", err)
	}

	// Delete refuses while the connection is live, then --force removes everything.
	if msg := sp.fail("privatelink", "delete", "my-kafka"); !strings.Contains(msg, vpce) || !strings.Contains(msg, "--force") {
		t.Errorf("delete with a live connection: %s", msg)
	}
	sp.run("privatelink", "delete", "--force", "--wait", "my-kafka")
	for what, args := range map[string][]string{
		"load balancers":    {"elbv2", "describe-load-balancers", "--query", "length(LoadBalancers)"},
		"target groups":     {"elbv2", "describe-target-groups", "--query", "length(TargetGroups)"},
		"endpoint services": {"ec2", "describe-vpc-endpoint-service-configurations", "--query", "length(ServiceConfigurations)"},
	} {
		if n := p.run(args...); n != "0" {
			t.Errorf("%s left after delete: %s", what, n)
		}
	}
	c.wait("rejected", 10*time.Second, "ec2", "describe-vpc-endpoints", "--vpc-endpoint-ids", vpce, "--query", "VpcEndpoints[0].State")
	testenv.Eventually(t, 2*time.Minute, "the endpoint to stop carrying traffic", func() error {
		if canDial(t, client, ip+":9092") {
			return fmt.Errorf("%s:9092 still accepts connections", ip)
		}
		return nil
	})
	sp.run("service", "delete", "my-kafka")
	if out := sp.run("service", "list", "-o", "json"); !strings.Contains(out, `"services": []`) {
		t.Errorf("services after delete: %s", out)
	}
	c.run("ec2", "delete-vpc-endpoints", "--vpc-endpoint-ids", vpce)
}
