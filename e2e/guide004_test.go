package e2e_test

import (
	"strings"
	"testing"
	"time"

	"strait/internal/server"
	"strait/internal/testenv"
)

// TestGuide004MariaDB runs the reverse-PrivateLink guide for real: a MariaDB server in
// a provider instance behind an NLB in three subnets, published to another account
// whose VPC uses the same 10.0.0.0/16; the consumer's instance reaches the database by
// the service's private DNS name through its interface endpoint, and a row written
// through the endpoint is read back directly on the server.
func TestGuide004MariaDB(t *testing.T) { onBothPaths(t, testGuide004MariaDB) }

func testGuide004MariaDB(t *testing.T, cfg server.Config) {
	dns := testenv.StartDNS(t)
	cfg.Resolver = dns.Addr
	env := testenv.StartNetns(t, cfg)
	p := cli{t, env, providerAcct}
	c := cli{t, env, consumerAcct}

	vpc, subnets := p.network("10.0.0.0/16", "a", "b", "c")
	// The database's own security group admits MySQL from inside the VPC (the NLB's nodes).
	dbsg := p.run("ec2", "create-security-group", "--group-name", "mysql", "--description", "MySQL server", "--vpc-id", vpc, "--query", "GroupId")
	p.run("ec2", "authorize-security-group-ingress", "--group-id", dbsg, "--protocol", "tcp", "--port", "3306", "--cidr", "10.0.0.0/16")
	db, dbIP := p.instance(subnets[0], "--security-group-ids", dbsg)
	maria := testenv.StartMariaDB(t, db)
	maria.Query("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(64));" +
		"CREATE USER 'app'@'%' IDENTIFIED BY 'app-secret'; GRANT ALL ON shop.* TO 'app'@'%'")

	// The guide's steps, with the database instance's address as the target.
	sg := p.run("ec2", "create-security-group", "--group-name", "pl-nlb", "--description", "PrivateLink NLB", "--vpc-id", vpc, "--query", "GroupId")
	lb := p.run(append(append([]string{"elbv2", "create-load-balancer", "--name", "pl-nlb", "--scheme", "internal", "--type", "network", "--subnets"}, subnets...),
		"--security-groups", sg, "--query", "LoadBalancers[0].LoadBalancerArn")...)
	tg := p.run("elbv2", "create-target-group", "--name", "pl-nlb-target-group", "--protocol", "TCP", "--port", "3306",
		"--vpc-id", vpc, "--target-type", "ip", "--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "2", "--query", "TargetGroups[0].TargetGroupArn")
	p.run("elbv2", "register-targets", "--target-group-arn", tg, "--targets", "Id="+dbIP)
	p.run("elbv2", "create-listener", "--load-balancer-arn", lb, "--protocol", "TCP", "--port", "3306",
		"--default-actions", "Type=forward,TargetGroupArn="+tg)
	svc := p.run("ec2", "create-vpc-endpoint-service-configuration", "--network-load-balancer-arns", lb,
		"--no-acceptance-required", "--query", "ServiceConfiguration.ServiceId")
	p.run("ec2", "authorize-security-group-ingress", "--group-id", sg, "--protocol", "tcp", "--port", "3306", "--cidr", "10.0.1.0/24")
	p.run("ec2", "modify-vpc-endpoint-service-permissions", "--service-id", svc,
		"--add-allowed-principals", `["arn:aws:iam::`+consumerAcct+`:root"]`)
	p.wait("active", 30*time.Second, "elbv2", "describe-load-balancers", "--load-balancer-arns", lb, "--query", "LoadBalancers[0].State.Code")
	p.wait("healthy", 30*time.Second, "elbv2", "describe-target-health", "--target-group-arn", tg, "--query", "TargetHealthDescriptions[0].TargetHealth.State")

	// A private DNS name for the service, verified through the TXT record.
	p.run("ec2", "modify-vpc-endpoint-service-configuration", "--service-id", svc, "--private-dns-name", "mysql.shop.example.test")
	rec := strings.Fields(p.run("ec2", "describe-vpc-endpoint-service-configurations", "--service-ids", svc,
		"--query", "ServiceConfigurations[0].PrivateDnsNameConfiguration.[Name,Value]"))
	dns.SetTXT(rec[0]+".mysql.shop.example.test", rec[1])
	p.run("ec2", "start-vpc-endpoint-service-private-dns-verification", "--service-id", svc)
	p.wait("verified", 30*time.Second, "ec2", "describe-vpc-endpoint-service-configurations", "--service-ids", svc, "--query", "ServiceConfigurations[0].PrivateDnsNameConfiguration.State")

	// The consumer: same CIDR, an instance, an interface endpoint with private DNS.
	cvpc, csubs := c.network("10.0.0.0/16", "a")
	client, _ := c.instance(csubs[0])
	name := "com.amazonaws.vpce.us-east-1." + svc
	vpce := c.run("ec2", "create-vpc-endpoint", "--vpc-endpoint-type", "Interface", "--vpc-id", cvpc, "--subnet-ids", csubs[0],
		"--service-name", name, "--private-dns-enabled", "--query", "VpcEndpoint.VpcEndpointId")
	c.wait("available", 30*time.Second, "ec2", "describe-vpc-endpoints", "--vpc-endpoint-ids", vpce, "--query", "VpcEndpoints[0].State")

	mysql := func(sql string) string {
		t.Helper()
		out, errOut, code := testenv.Exec(t, client, "mysql", "--no-defaults", "-h", "mysql.shop.example.test", "-u", "app", "-papp-secret",
			"--connect-timeout=10", "-N", "-B", "-e", sql)
		if code != 0 {
			t.Fatalf("mysql %q from the consumer instance: exit %d\n%s%s", sql, code, out, errOut)
		}
		return strings.TrimSpace(out)
	}
	if got := mysql("SELECT 1"); got != "1" {
		t.Fatalf("SELECT 1 through the endpoint: %q", got)
	}
	mysql("INSERT INTO shop.orders VALUES (42, 'through the endpoint')")
	if got := maria.Query("SELECT item FROM shop.orders WHERE id = 42"); got != "through the endpoint" {
		t.Errorf("row read directly on the server: %q", got)
	}
	// The server sees the NLB node's address (no PROXY protocol): one of the provider's subnets.
	if got := mysql("SELECT SUBSTRING_INDEX(USER(), '@', -1)"); !strings.HasPrefix(got, "10.0.") {
		t.Errorf("client address seen by MariaDB: %q", got)
	}
	// The endpoint's regional name resolves in the consumer VPC, not in the provider's.
	regional := c.run("ec2", "describe-vpc-endpoints", "--vpc-endpoint-ids", vpce, "--query", "VpcEndpoints[0].DnsEntries[0].DnsName")
	if out, _, code := testenv.Exec(t, client, "getent", "hosts", regional); code != 0 || !strings.HasPrefix(out, "10.0.1.") {
		t.Errorf("getent hosts %s in the consumer VPC: exit %d, %q", regional, code, out)
	}
	if _, _, code := testenv.Exec(t, db, "getent", "hosts", "mysql.shop.example.test"); code == 0 {
		t.Errorf("the service's private DNS name resolves in the provider VPC")
	}

	// Deleting the endpoint removes its listener: the name no longer resolves and nothing answers.
	c.run("ec2", "delete-vpc-endpoints", "--vpc-endpoint-ids", vpce)
	c.wait("", 30*time.Second, "ec2", "describe-vpc-endpoints", "--query", "VpcEndpoints[].VpcEndpointId")
	if _, _, code := testenv.Exec(t, client, "mysql", "--no-defaults", "-h", "mysql.shop.example.test", "-u", "app", "-papp-secret", "--connect-timeout=3", "-e", "SELECT 1"); code == 0 {
		t.Errorf("mysql still works after the endpoint was deleted")
	}
}
