package e2e_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"strait/internal/server"
	"strait/internal/testenv"
)

// TestGuide000WithStraitCLI runs guide 000's flow with the strait CLI on real
// traffic: a MariaDB "cluster" published with acceptance required and a private
// DNS name; the consumer's endpoint carries nothing while pendingAcceptance; after
// `strait privatelink accept` and private DNS enabled on the endpoint, the mysql
// command printed by `strait service connection-info` works from the consumer's
// instance.
func TestGuide000WithStraitCLI(t *testing.T) { onBothPaths(t, testGuide000WithStraitCLI) }

func testGuide000WithStraitCLI(t *testing.T, cfg server.Config) {
	dns := testenv.StartDNS(t)
	cfg.Resolver = dns.Addr
	env := testenv.StartNetns(t, cfg)
	p := cli{t, env, providerAcct}
	c := cli{t, env, consumerAcct}
	sp := buildStrait(t, env, providerAcct)

	vpc, subnets := p.network("10.0.0.0/16", "a", "b")
	sg := p.run("ec2", "create-security-group", "--group-name", "tidb", "--description", "MySQL protocol", "--vpc-id", vpc, "--query", "GroupId")
	p.run("ec2", "authorize-security-group-ingress", "--group-id", sg, "--protocol", "tcp", "--port", "3306", "--cidr", "10.0.0.0/16")
	db, _ := p.instance(subnets[0], "--security-group-ids", sg)
	maria := testenv.StartMariaDB(t, db)
	maria.Query("CREATE DATABASE test; CREATE TABLE test.t (id INT PRIMARY KEY, v VARCHAR(32)); INSERT INTO test.t VALUES (1, 'tidb via privatelink');" +
		"CREATE USER 'app'@'%' IDENTIFIED BY 'app-secret'; GRANT SELECT ON test.* TO 'app'@'%'")

	// Steps 1–4: the provider publishes the cluster; acceptance required.
	const dnsName = "tidb.shop.example.test"
	sp.run("service", "create", "tidb", "--vpc-id", vpc, "--component", "mysql=3306:"+db, "--privatelink-access", "mysql")
	sp.run("privatelink", "create", "--principal", "arn:aws:iam::"+consumerAcct+":root", "--acceptance-required",
		"--private-dns-name", dnsName, "--wait", "tidb")
	var verification struct{ State, Name, Value string }
	sp.json(&verification, "privatelink", "get", "tidb", "private_dns_verification")
	if verification.State != "pendingVerification" || verification.Name == "" {
		t.Fatalf("verification record: %+v", verification)
	}
	dns.SetTXT(verification.Name+"."+dnsName, verification.Value)
	sp.run("privatelink", "verify-dns", "tidb")

	// The consumer creates its endpoint with the printed service name.
	cvpc, csubs := c.network("10.0.0.0/16", "a")
	client, _ := c.instance(csubs[0])
	name := sp.run("privatelink", "get", "tidb", "aws_service_name")
	vpce := c.run("ec2", "create-vpc-endpoint", "--vpc-endpoint-type", "Interface", "--vpc-id", cvpc, "--subnet-ids", csubs[0],
		"--service-name", name, "--query", "VpcEndpoint.VpcEndpointId")
	if st := c.run("ec2", "describe-vpc-endpoints", "--vpc-endpoint-ids", vpce, "--query", "VpcEndpoints[0].State"); st != "pendingAcceptance" {
		t.Fatalf("endpoint state %s, want pendingAcceptance", st)
	}
	time.Sleep(time.Second) // passes of the reconciler: the endpoint must stay closed
	if conns := sp.run("privatelink", "connections", "tidb"); !strings.Contains(conns, vpce) || !strings.Contains(conns, "pendingAcceptance") {
		t.Fatalf("connections while pending:\n%s", conns)
	}
	ip := endpointIP(c, vpce)
	if canDial(t, client, ip+":3306") {
		t.Fatalf("a pendingAcceptance endpoint accepted a connection")
	}

	// Step 5: accept by endpoint ID; step 6: private DNS on the endpoint.
	sp.run("privatelink", "accept", "--wait", "tidb", vpce)
	c.run("ec2", "modify-vpc-endpoint", "--vpc-endpoint-id", vpce, "--private-dns-enabled")

	// Step 7: the mysql command from connection-info, from the consumer's instance.
	var info struct {
		Entries []struct{ Component, Host, Command string }
	}
	testenv.Eventually(t, 2*time.Minute, "connection-info to give the private DNS name", func() error {
		sp.json(&info, "service", "connection-info", "tidb")
		if len(info.Entries) == 0 || info.Entries[0].Host != dnsName {
			return fmt.Errorf("entries %+v", info.Entries)
		}
		return nil
	})
	command := info.Entries[0].Command
	if command != "mysql -h "+dnsName+" -P 3306 -u USER -p" {
		t.Fatalf("connection-info command %q", command)
	}
	// The printed command with the user's credentials filled in, as a user types it.
	line := strings.Replace(strings.Replace(command, "-u USER -p", "-u app -papp-secret", 1), "mysql ", "mysql --no-defaults --connect-timeout=5 -N -B ", 1) +
		` -e "SELECT v FROM test.t WHERE id = 1"`
	testenv.Eventually(t, 2*time.Minute, "the connection-info mysql command answering", func() error {
		out, errOut, code := testenv.Exec(t, client, "bash", "-c", line)
		if code != 0 {
			return fmt.Errorf("%s: exit %d: %s", line, code, errOut)
		}
		if got := strings.TrimSpace(out); got != "tidb via privatelink" {
			return fmt.Errorf("%s printed %q", line, got)
		}
		return nil
	})
	var check string
	testenv.Eventually(t, 2*time.Minute, "the query counted in privatelink connections", func() error {
		check = sp.run("privatelink", "connections", "tidb")
		if !strings.Contains(check, "available") || strings.Contains(check, "—") {
			return fmt.Errorf("connections:\n%s", check)
		}
		return nil
	})

	sp.run("privatelink", "delete", "--force", "--wait", "tidb")
	sp.run("service", "delete", "tidb")
	c.run("ec2", "delete-vpc-endpoints", "--vpc-endpoint-ids", vpce)
}
