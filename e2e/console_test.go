package e2e_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"strait/internal/server"
	"strait/internal/testenv"
)

// TestConsoleGuides clicks guides 003 and 000 through the web console in
// headless chromium, against one server with the netns data plane: the
// provider publishes, the consumer creates its endpoint with the wizard, and a
// client in the consumer's instance reaches the target through the endpoint.
// The AWS CLI only builds what the guides take as given (VPCs, instances).
// With STRAIT_SCREENSHOTS=DIR the main pages are saved there at 1280 px.
func TestConsoleGuides(t *testing.T) {
	dns := testenv.StartDNS(t)
	env := testenv.StartNetns(t, server.Config{Resolver: dns.Addr})
	browser := testenv.StartBrowser(t)
	g := consoleGuides{env: env, browser: browser, base: env.Server.ConsoleURL(), dns: dns}
	t.Run("Guide003", g.guide003)
	t.Run("Guide000", g.guide000)
}

type consoleGuides struct {
	env     *testenv.Env
	browser *testenv.Browser
	base    string
	dns     *testenv.DNS
}

// signIn opens a browser session and signs in as acct (dev mode: any secret).
func (g consoleGuides) signIn(t *testing.T, acct string) *testenv.Tab {
	t.Helper()
	p := g.browser.Session(t)
	p.Go(g.base)
	p.Fill("#access_key_id", acct)
	p.Fill("#secret_access_key", "dev")
	p.Submit("button[type=submit]")
	if got := p.Text("header"); !strings.Contains(got, acct) {
		t.Fatalf("after sign-in the header shows %q", got)
	}
	return p
}

// createService fills the create-service form: rows of name, port, targets.
func (g consoleGuides) createService(t *testing.T, p *testenv.Tab, name, vpc string, rows [][3]string, access ...int) {
	t.Helper()
	p.Submit(`nav.side a[href$="/services"]`)
	p.Submit(`a[href$="/services/new"]`)
	p.Fill("#name", name)
	p.Select("#vpc_id", vpc)
	for i, r := range rows {
		p.Fill(fmt.Sprintf("#comp_%d_name", i), r[0])
		p.Fill(fmt.Sprintf("#comp_%d_port", i), r[1])
		p.Fill(fmt.Sprintf("#comp_%d_targets", i), r[2])
	}
	for _, i := range access {
		p.Check(fmt.Sprintf("#comp_%d_access", i), true)
	}
	p.Submit("form.card button.primary")
	if !strings.HasSuffix(p.URL(), "/services/"+name) {
		t.Fatalf("after create the browser is at %s: %s", p.URL(), p.Text("main"))
	}
}

// createPrivateLink creates the PrivateLink resource on the service's tab and
// waits, without reloading, until it is active; it returns the service name.
func (g consoleGuides) createPrivateLink(t *testing.T, p *testenv.Tab, principal string, acceptance bool, dnsName string) string {
	t.Helper()
	p.Submit(`nav.tabs a[href$="/privatelink"]`)
	p.Fill("#principals", principal)
	p.Check("#acceptance_required", acceptance)
	if dnsName != "" {
		p.Fill("#private_dns_name", dnsName)
	}
	p.Submit("main form button.primary")
	p.WaitText("#privatelink-state .head .state", "active", 60*time.Second)
	name := p.Attr("#aws-service-name button.copy", "data-copy")
	if !strings.HasPrefix(name, "com.amazonaws.vpce.us-east-1.vpce-svc-") {
		t.Fatalf("service name %q", name)
	}
	if cmd := p.Attr("#consumer-command button.copy", "data-copy"); !strings.Contains(cmd, "--service-name "+name) {
		t.Errorf("consumer command %q", cmd)
	}
	return name
}

// createEndpoint runs the create-endpoint wizard: service name, Verify service,
// VPC, one subnet per zone, the default security group. It returns the ID.
func (g consoleGuides) createEndpoint(t *testing.T, p *testenv.Tab, service, vpc string, subnets map[string]string) string {
	t.Helper()
	p.Submit(`nav.side a[href$="/endpoints"]`)
	p.Submit(`a[href$="/endpoints/new"]`)
	p.Fill("#service_name", service)
	p.Submit(`button[name=verify]`)
	if got := p.Text("#step-service"); !strings.Contains(got, "Service name verified") {
		t.Fatalf("Verify service: %s", got)
	}
	p.SelectSubmit("#vpc_id", vpc)
	for zone, subnet := range subnets {
		p.Select("#subnet_"+zone, subnet)
	}
	p.Submit("#step-create button.primary")
	if !strings.HasSuffix(p.URL(), "/endpoints") {
		t.Fatalf("after Create endpoint the browser is at %s: %s", p.URL(), p.Text("main"))
	}
	id := p.Attr("section.endpoint", "data-endpoint")
	if !strings.HasPrefix(id, "vpce-") {
		t.Fatalf("no endpoint on the Endpoints page: %s", p.Text("main"))
	}
	return id
}

// componentCell is a cell's copy text in the connection information row of a
// component.
func componentCell(p *testenv.Tab, component, cell string) string {
	return p.Attr(fmt.Sprintf(`#connection-info tr[data-component=%q] td.%s button.copy`, component, cell), "data-copy")
}

func (g consoleGuides) guide003(t *testing.T) {
	p := cli{t, g.env, providerAcct}
	c := cli{t, g.env, consumerAcct}
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

	// The provider's console: the service with three components, then
	// Network → Create PrivateLink with a principal.
	prov := g.signIn(t, providerAcct)
	g.createService(t, prov, "my-kafka", vpc, [][3]string{
		{"kafka", "9092", broker1 + ", " + broker2}, {"kafka_connect", "8083", connect}, {"schema_registry", "8081", registry}})
	name := g.createPrivateLink(t, prov, "arn:aws:iam::"+consumerAcct+":user/mwf", false, "")
	testenv.Screenshot(t, prov, "privatelink.png", 1280)

	// The consumer's console: Endpoints → Create endpoint, in a VPC with the same CIDR.
	cvpc, csubs := c.network("10.0.0.0/16", "a", "b")
	client, _ := c.instance(csubs[0])
	cons := g.signIn(t, consumerAcct)
	vpce := g.createEndpoint(t, cons, name, cvpc, map[string]string{"us-east-1a": csubs[0], "us-east-1b": csubs[1]})
	cons.WaitText(fmt.Sprintf(`section[data-endpoint=%q]`, vpce), "available", 30*time.Second)

	// Advanced configuration: PrivateLink access for kafka and schema_registry.
	prov.Submit(`nav.tabs a[href$="/services/my-kafka"]`)
	prov.Check("#access-kafka", true)
	prov.Check("#access-schema_registry", true)
	prov.Submit("#advanced button.primary")
	if got := prov.Text(".flash"); !strings.Contains(got, "kafka, schema_registry") {
		t.Errorf("after saving the advanced configuration: %q", got)
	}
	// Connection information, privatelink route: the endpoint's host per component.
	prov.WaitText("#connection-info", "schema_registry", 15*time.Second)
	host := componentCell(prov, "kafka", "host")
	if !strings.HasPrefix(host, vpce+"-") || componentCell(prov, "schema_registry", "host") != host || componentCell(prov, "kafka_connect", "host") != "" {
		t.Fatalf("connection information: kafka %q, schema_registry %q, kafka_connect %q", host,
			componentCell(prov, "schema_registry", "host"), componentCell(prov, "kafka_connect", "host"))
	}
	testenv.Eventually(t, 30*time.Second, "both enabled components answering through the endpoint", func() error {
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
	if got, err := askHost(t, client, host, 8083, "ping"); err == nil {
		t.Errorf("kafka_connect (no PrivateLink access) answered through the endpoint: %q", got)
	}
	testenv.Screenshot(t, prov, "service.png", 1280)

	// Connections: the endpoint, its owner, state and traffic, updated in place.
	prov.Submit(`nav.tabs a[href$="/connections"]`)
	testenv.Eventually(t, 20*time.Second, "traffic on the Connections tab", func() error {
		row := prov.Text("#connections-table tbody tr")
		if !strings.Contains(row, vpce) || !strings.Contains(row, consumerAcct) || !strings.Contains(row, "available") || strings.Contains(row, "—") {
			return fmt.Errorf("row %q", row)
		}
		return nil
	})
	testenv.Screenshot(t, prov, "connections.png", 1280)
	prov.Submit(`nav.side a[href$="/load-balancers"]`)
	// Each target with its health and reason code (health checks run every 30 s
	// by default: the states move on later, in place).
	lbs := prov.WaitText("#load-balancers", "Target group", 10*time.Second)
	for _, id := range []string{broker1, broker2, registry} {
		if !strings.Contains(lbs, id) {
			t.Errorf("load balancers page lacks target %s:\n%s", id, lbs)
		}
	}
	if !strings.Contains(lbs, "Elb.") && !strings.Contains(lbs, "healthy") {
		t.Errorf("load balancers page shows no target health:\n%s", lbs)
	}
	if strings.Contains(lbs, connect) {
		t.Errorf("kafka_connect (no PrivateLink access) has a target group:\n%s", lbs)
	}
	testenv.Screenshot(t, prov, "load-balancers.png", 1280)
	cons.Go(g.base + "endpoints")
	testenv.Screenshot(t, cons, "endpoints.png", 1280)
	testenv.Screenshot(t, cons, "endpoints-phone.png", 390)

	// Edit principals replaces the list: the consumer can no longer connect anew.
	prov.Go(g.base + "services/my-kafka/privatelink")
	prov.Submit(`a[href$="/privatelink/principals"]`)
	if got := prov.Text(".warning"); !strings.Contains(got, "replaces the whole list") {
		t.Errorf("Edit principals does not say it replaces the list: %q", got)
	}
	prov.Fill("#principals", "arn:aws:iam::"+otherAcct+":root")
	prov.Submit("main form button.primary")
	if got := prov.Text("main"); !strings.Contains(got, otherAcct) || strings.Contains(got, "user/mwf") {
		t.Errorf("principals after the edit: %s", got)
	}
	cons.Go(g.base + "endpoints/new?" + url.Values{"service_name": {name}, "verify": {"1"}}.Encode())
	if got := cons.Text("#err-service_name"); !strings.Contains(got, "allowed your account") {
		t.Errorf("Verify service after the principal was removed: %q", got)
	}
	if _, err := askHost(t, client, host, 9092, "still"); err != nil {
		t.Errorf("existing endpoint after the principal change: %v", err)
	}

	// Delete with a confirmation; live connections need the force box.
	prov.Submit(`a[aria-label="Delete the PrivateLink resource"]`)
	prov.Check("#force", true)
	prov.Submit("main form button.danger")
	prov.WaitText("main", "Create PrivateLink", 60*time.Second)
	cons.Go(g.base + "endpoints")
	cons.WaitText(fmt.Sprintf(`section[data-endpoint=%q]`, vpce), "rejected", 30*time.Second)
	for what, args := range map[string][]string{
		"load balancers":    {"elbv2", "describe-load-balancers", "--query", "length(LoadBalancers)"},
		"endpoint services": {"ec2", "describe-vpc-endpoint-service-configurations", "--query", "length(ServiceConfigurations)"},
	} {
		if n := p.run(args...); n != "0" {
			t.Errorf("%s left after delete: %s", what, n)
		}
	}
	prov.Submit(`nav.tabs a[href$="/services/my-kafka"]`)
	prov.Submit(`a[href$="/services/my-kafka/delete"]`)
	prov.Submit("main form button.danger")
	if got := prov.Text("#services-table"); strings.Contains(got, "my-kafka") {
		t.Errorf("services after delete: %s", got)
	}
	cons.Submit(fmt.Sprintf(`a[aria-label="Delete %s"]`, vpce))
	cons.Submit("main form button.danger")
}

func (g consoleGuides) guide000(t *testing.T) {
	const provider, consumer = "444444444444", "555555555555"
	p := cli{t, g.env, provider}
	c := cli{t, g.env, consumer}
	vpc, subnets := p.network("10.0.0.0/16", "a", "b")
	sg := p.run("ec2", "create-security-group", "--group-name", "tidb", "--description", "MySQL protocol", "--vpc-id", vpc, "--query", "GroupId")
	p.run("ec2", "authorize-security-group-ingress", "--group-id", sg, "--protocol", "tcp", "--port", "3306", "--cidr", "10.0.0.0/16")
	db, _ := p.instance(subnets[0], "--security-group-ids", sg)
	maria := testenv.StartMariaDB(t, db)
	maria.Query("CREATE DATABASE test; CREATE TABLE test.t (id INT PRIMARY KEY, v VARCHAR(32)); INSERT INTO test.t VALUES (1, 'tidb via the console');" +
		"CREATE USER 'app'@'%' IDENTIFIED BY 'app-secret'; GRANT SELECT ON test.* TO 'app'@'%'")

	// Steps 1–4: the provider's private endpoint for the cluster, acceptance
	// required, a private DNS name proven with a TXT record.
	const dnsName = "tidb.console.example.test"
	prov := g.signIn(t, provider)
	g.createService(t, prov, "tidb", vpc, [][3]string{{"mysql", "3306", db}}, 0)
	name := g.createPrivateLink(t, prov, "arn:aws:iam::"+consumer+":root", true, dnsName)
	prov.WaitText("#dns-verification", "pendingVerification", 15*time.Second)
	record, value := prov.Attr("#txt-name button.copy", "data-copy"), prov.Attr("#txt-value button.copy", "data-copy")
	if !strings.HasSuffix(record, "."+dnsName) || value == "" {
		t.Fatalf("TXT record %q = %q", record, value)
	}
	prov.Submit(`#private-dns form[action$="/verify"] button`)
	if got := prov.Text("#err-verify"); !strings.Contains(got, record) {
		t.Errorf("Verify before the record is published should say what is missing: %q", got)
	}
	g.dns.SetTXT(record, value)
	prov.Submit(`#private-dns form[action$="/verify"] button`)
	if got := prov.Text(".flash"); !strings.Contains(got, "verified") {
		t.Fatalf("Verify with the record published: %q %s", got, prov.Text("main"))
	}

	// The consumer's VPC console: Create endpoint → pending acceptance.
	cvpc, csubs := c.network("10.0.0.0/16", "a")
	client, _ := c.instance(csubs[0])
	cons := g.signIn(t, consumer)
	vpce := g.createEndpoint(t, cons, name, cvpc, map[string]string{"us-east-1a": csubs[0]})
	endpoint := fmt.Sprintf(`section[data-endpoint=%q]`, vpce)
	cons.WaitText(endpoint, "pendingAcceptance", 10*time.Second)
	ip := endpointIP(c, vpce)
	if canDial(t, client, ip+":3306") {
		t.Fatalf("a pendingAcceptance endpoint accepted a connection")
	}

	// Step 5: the provider pastes the endpoint ID and accepts.
	prov.Submit(`nav.tabs a[href$="/connections"]`)
	prov.WaitText("#connections-table", "pendingAcceptance", 10*time.Second)
	prov.Fill("#endpoint_ids", vpce)
	prov.Submit("main form button.primary")
	if got := prov.Text(".flash"); !strings.Contains(got, vpce+" accepted") {
		t.Fatalf("accept by ID: %q %s", got, prov.Text("main"))
	}

	// Step 6: pending → available on the consumer's page without a reload, then
	// Modify private DNS name.
	cons.WaitText(endpoint, "available", 30*time.Second)
	cons.Submit(endpoint + ` a[href$="/private-dns"]`)
	cons.Check("#private_dns", true)
	cons.Submit("main form button.primary")
	cons.WaitText(endpoint, dnsName, 10*time.Second)

	// Step 7: Connect: the mysql command from the connection information, run
	// from the consumer's instance.
	prov.Submit(`nav.tabs a[href$="/services/tidb"]`)
	want := "mysql -h " + dnsName + " -P 3306 -u USER -p"
	testenv.Eventually(t, 15*time.Second, "the private DNS name's mysql command", func() error {
		if got := prov.Text("#connection-info"); !strings.Contains(got, want) {
			return fmt.Errorf("connection information: %s", got)
		}
		return nil
	})
	testenv.Screenshot(t, prov, "connect.png", 1280)
	line := strings.Replace(strings.Replace(want, "-u USER -p", "-u app -papp-secret", 1), "mysql ", "mysql --no-defaults --connect-timeout=5 -N -B ", 1) +
		` -e "SELECT v FROM test.t WHERE id = 1"`
	testenv.Eventually(t, 30*time.Second, "the console's mysql command answering", func() error {
		out, errOut, code := testenv.Exec(t, client, "bash", "-c", line)
		if code != 0 {
			return fmt.Errorf("%s: exit %d: %s", line, code, errOut)
		}
		if got := strings.TrimSpace(out); got != "tidb via the console" {
			return fmt.Errorf("%s printed %q", line, got)
		}
		return nil
	})
}
