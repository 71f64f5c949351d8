package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"strait/internal/console"
	"strait/internal/control"
	"strait/internal/control/network"
	"strait/internal/control/published"
	"strait/internal/model"
	"strait/internal/server"
	"strait/internal/testenv"
)

// The console's access rules, on one server (no data plane, not in dev mode, so
// secrets are checked) and one browser: sign-in with a real key, every page and
// action behind it, the CSRF token on every form, and accounts that see and
// change only their own resources, also with crafted form posts.

const (
	acctA = "111111111111"
	acctB = "222222222222"
)

type fixture struct {
	env     *testenv.Env
	ctl     *control.Control
	base    string // the console's URL
	keys    map[string]model.AccessKey
	browser *testenv.Browser
}

func TestConsole(t *testing.T) {
	env := testenv.StartConfig(t, server.Config{})
	f := &fixture{env: env, ctl: env.Server.Control(), base: env.Server.ConsoleURL(), keys: map[string]model.AccessKey{}}
	ctx := testenv.Ctx(t)
	for _, id := range []string{acctA, acctB} {
		_, key, err := f.ctl.CreateAccount(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		f.keys[id] = key
	}
	t.Run("EveryPageAndActionNeedsSignIn", f.everyRouteNeedsSignIn)
	t.Run("SignInChecksTheSecret", f.signInChecksSecret)
	t.Run("CSRFTokenRequired", f.csrfRequired)
	f.browser = testenv.StartBrowser(t)
	t.Run("BrowserSignInAndOut", f.browserSignInAndOut)
	t.Run("FormErrorsNextToTheField", f.formErrors)
	t.Run("AccountsAreIsolated", f.isolation)
}

// client is an HTTP client with its own cookies that does not follow redirects.
func client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signIn signs an HTTP client in as acct and returns the session's CSRF token.
func (f *fixture) signIn(t *testing.T, c *http.Client, acct string) string {
	t.Helper()
	_, page := get(t, c, f.base+"signin")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("sign-in page has no CSRF field:\n%s", page)
	}
	k := f.keys[acct]
	resp, body := post(t, c, f.base+"signin", url.Values{"csrf": {m[1]}, "access_key_id": {k.ID}, "secret_access_key": {k.Secret}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in as %s: %s\n%s", acct, resp.Status, body)
	}
	_, page = get(t, c, f.base)
	m = csrfField.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, acct) {
		t.Fatalf("overview after sign-in does not show account %s:\n%s", acct, page)
	}
	return m[1]
}

// everyRouteNeedsSignIn requests every console route without a session: pages
// send the browser to sign in, actions are refused, and nothing is done.
func (f *fixture) everyRouteNeedsSignIn(t *testing.T) {
	con, err := console.New(f.ctl, f.ctl, console.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := client(t)
	fill := strings.NewReplacer("{name}", "svc", "{id}", "vpce-0123456789abcdef0", "{$}", "")
	checked := 0
	for _, pattern := range con.Routes() {
		method, path, _ := strings.Cut(pattern, " ")
		if path == "/console/static/" || path == "/console/signin" {
			continue
		}
		u := f.env.Server.URL() + fill.Replace(path)
		var resp *http.Response
		if method == http.MethodGet {
			resp, _ = get(t, c, u)
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/signin?next=") {
				t.Errorf("GET %s without a session: %s, Location %q; want a redirect to sign in", u, resp.Status, resp.Header.Get("Location"))
			}
		} else {
			resp, _ = post(t, c, u, url.Values{"csrf": {"x"}, "name": {"svc"}})
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("POST %s without a session: %s, want 401", u, resp.Status)
			}
		}
		checked++
	}
	if checked < 35 {
		t.Errorf("checked %d routes; the console has more", checked)
	}
}

func (f *fixture) signInChecksSecret(t *testing.T) {
	c := client(t)
	_, page := get(t, c, f.base+"signin")
	token := csrfField.FindStringSubmatch(page)[1]
	k := f.keys[acctA]
	resp, body := post(t, c, f.base+"signin", url.Values{"csrf": {token}, "access_key_id": {k.ID}, "secret_access_key": {k.Secret + "x"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `id="err-secret_access_key"`) {
		t.Errorf("wrong secret: %s\n%s", resp.Status, body)
	}
	// A sign-in form posted without the token its page set (another site's form).
	resp, _ = post(t, client(t), f.base+"signin", url.Values{"csrf": {token}, "access_key_id": {k.ID}, "secret_access_key": {k.Secret}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without the sign-in cookie: %s, want 403", resp.Status)
	}
	f.signIn(t, c, acctA)
	u, _ := url.Parse(f.base)
	var session *http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "strait_console" {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session cookie")
	}
	// The jar hides the flags: sign in again and read the Set-Cookie header.
	c2 := client(t)
	_, page = get(t, c2, f.base+"signin")
	token = csrfField.FindStringSubmatch(page)[1]
	resp, _ = post(t, c2, f.base+"signin", url.Values{"csrf": {token}, "access_key_id": {k.ID}, "secret_access_key": {k.Secret}})
	var set string
	for _, h := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(h, "strait_console=") {
			set = h
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/console/", "Max-Age=28800"} {
		if !strings.Contains(set, want) {
			t.Errorf("session cookie %q lacks %s", set, want)
		}
	}
}

// csrfRequired posts a real action (create a service) with no token, a wrong
// token and another session's token: all refused, nothing created; then with
// the session's own token it works.
func (f *fixture) csrfRequired(t *testing.T) {
	ctx := testenv.Ctx(t)
	vpc, err := f.ctl.CreateVpc(ctx, acctA, network.CreateVpcInput{CIDR: "10.1.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ctl.CreateSubnet(ctx, acctA, network.CreateSubnetInput{VpcID: vpc.ID, CIDR: "10.1.1.0/24", AZ: "us-east-1a"}); err != nil {
		t.Fatal(err)
	}
	c := client(t)
	token := f.signIn(t, c, acctA)
	other := f.signIn(t, client(t), acctA)
	form := func(csrf string) url.Values {
		v := url.Values{"name": {"csrf-test"}, "vpc_id": {vpc.ID}, "rows": {"4"}, "comp_0_name": {"mysql"}, "comp_0_port": {"3306"}, "comp_0_targets": {"10.1.1.10"}}
		if csrf != "" {
			v.Set("csrf", csrf)
		}
		return v
	}
	for what, csrf := range map[string]string{"no token": "", "a wrong token": "x" + token, "another session's token": other} {
		resp, body := post(t, c, f.base+"services", form(csrf))
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "CSRF") {
			t.Errorf("create with %s: %s %s", what, resp.Status, body)
		}
	}
	if _, err := f.ctl.PublishedService(ctx, acctA, "csrf-test"); err == nil {
		t.Fatal("a post without the session's CSRF token created the service")
	}
	if resp, body := post(t, c, f.base+"services", form(token)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create with the token: %s\n%s", resp.Status, body)
	}
	if _, err := f.ctl.PublishedService(ctx, acctA, "csrf-test"); err != nil {
		t.Fatalf("the service was not created: %v", err)
	}
	// Sign-out needs the token too, and ends the session.
	if resp, _ := post(t, c, f.base+"signout", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-out without the token: %s", resp.Status)
	}
	post(t, c, f.base+"signout", url.Values{"csrf": {token}})
	if resp, _ := get(t, c, f.base+"services"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("services after sign-out: %s, want a redirect to sign in", resp.Status)
	}
	if err := f.ctl.DeletePublishedService(ctx, acctA, "csrf-test"); err != nil {
		t.Fatal(err)
	}
}

// browserSignIn signs a browser session in as acct through the form.
func (f *fixture) browserSignIn(t *testing.T, acct string) *testenv.Tab {
	t.Helper()
	p := f.browser.Session(t)
	p.Go(f.base + "services")
	if !strings.Contains(p.URL(), "/console/signin") {
		t.Fatalf("an anonymous browser reached %s", p.URL())
	}
	p.Fill("#access_key_id", f.keys[acct].ID)
	p.Fill("#secret_access_key", f.keys[acct].Secret)
	p.Submit("button[type=submit]")
	if !strings.HasSuffix(p.URL(), "/console/services") {
		t.Fatalf("after sign-in the browser is at %s, want the page it asked for", p.URL())
	}
	return p
}

func (f *fixture) browserSignInAndOut(t *testing.T) {
	p := f.browser.Session(t)
	p.Go(f.base)
	testenv.Screenshot(t, p, "signin.png", 1280)
	p.Fill("#access_key_id", f.keys[acctA].ID)
	p.Fill("#secret_access_key", "wrong")
	p.Submit("button[type=submit]")
	if got := p.Text("#err-secret_access_key"); !strings.Contains(got, "wrong") {
		t.Errorf("error next to the secret: %q", got)
	}
	var invalid string
	p.Eval(`document.querySelector("#secret_access_key").getAttribute("aria-describedby")`, &invalid)
	if invalid != "err-secret_access_key" {
		t.Errorf("the secret field is not described by its error: %q", invalid)
	}
	p = f.browserSignIn(t, acctA)
	if ck := p.Cookies(); strings.Contains(ck, "strait_console=") {
		t.Errorf("the session cookie is readable by scripts: %q", ck)
	}
	p.Submit("header form button[type=submit]")
	if !strings.Contains(p.URL(), "/console/signin") {
		t.Errorf("after sign-out the browser is at %s", p.URL())
	}
	p.Go(f.base + "vpcs")
	if !strings.Contains(p.URL(), "/console/signin") {
		t.Errorf("after sign-out the VPCs page opened: %s", p.URL())
	}
}

// formErrors submits the create-service form with mistakes and finds each
// message next to its field.
func (f *fixture) formErrors(t *testing.T) {
	ctx := testenv.Ctx(t)
	vpcs, err := f.ctl.Vpcs(ctx, acctA)
	if err != nil || len(vpcs) == 0 {
		t.Fatalf("vpcs: %v %v", vpcs, err)
	}
	p := f.browserSignIn(t, acctA)
	p.Go(f.base + "services/new")
	p.Fill("#name", "Bad_Name")
	p.Select("#vpc_id", vpcs[0].ID)
	p.Fill("#comp_0_name", "mysql")
	p.Fill("#comp_0_port", "99999")
	p.Submit("form.card button.primary")
	if got := p.Text("#err-comp_0_port"); !strings.Contains(got, "1 to 65535") {
		t.Errorf("port error: %q", got)
	}
	p.Fill("#comp_0_port", "3306")
	p.Fill("#comp_0_targets", "10.1.1.10, not-a-target")
	p.Submit("form.card button.primary")
	if got := p.Text("#err-name"); !strings.Contains(got, "lowercase") {
		t.Errorf("name error: %q", got)
	}
	p.Fill("#name", "good-name")
	p.Submit("form.card button.primary")
	if got := p.Text("#err-comp_0_targets"); !strings.Contains(got, "not-a-target") {
		t.Errorf("target error: %q (page %s)", got, p.Text("main"))
	}
	var kept string
	p.Eval(`document.querySelector("#comp_0_targets").value`, &kept)
	if kept != "10.1.1.10, not-a-target" {
		t.Errorf("the form lost what was typed: %q", kept)
	}
	testenv.Screenshot(t, p, "form-errors.png", 1280)
}

// isolation: account A has a VPC and a published service with PrivateLink;
// account B's console shows none of it, and B's crafted posts (with B's own
// valid session and token) cannot change it.
func (f *fixture) isolation(t *testing.T) {
	ctx := testenv.Ctx(t)
	vpcs, _ := f.ctl.Vpcs(ctx, acctA)
	vpc := vpcs[0]
	if _, err := f.ctl.CreatePublishedService(ctx, acctA, published.CreatePublishedServiceInput{Name: "a-private", VpcID: vpc.ID,
		Components: []model.Component{{Name: "mysql", Port: 3306, Targets: []string{"10.1.1.10"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ctl.CreatePrivateLink(ctx, acctA, "a-private", published.CreatePrivateLinkInput{Principals: []string{"arn:aws:iam::" + acctA + ":root"}}); err != nil {
		t.Fatal(err)
	}
	p := f.browserSignIn(t, acctB)
	for _, page := range []string{"", "services", "endpoint-services", "load-balancers", "endpoints", "vpcs", "subnets", "security-groups", "instances"} {
		p.Go(f.base + page)
		if text := p.Text("body"); strings.Contains(text, vpc.ID) || strings.Contains(text, "a-private") || strings.Contains(text, acctA) {
			t.Errorf("account B's %q page shows account A's resources:\n%s", page, text)
		}
	}
	p.Go(f.base + "services/a-private")
	if text := p.Text("main"); !strings.Contains(text, "does not exist") {
		t.Errorf("account B opened A's service: %s", text)
	}

	c := client(t)
	token := f.signIn(t, c, acctB)
	for _, action := range []struct {
		path string
		form url.Values
	}{
		{"services/a-private/delete", nil},
		{"services/a-private/privatelink/delete", url.Values{"force": {"on"}}},
		{"services/a-private/privatelink/principals", url.Values{"principals": {"arn:aws:iam::" + acctB + ":root"}}},
		{"services/a-private/components/add", url.Values{"add_name": {"evil"}, "add_port": {"22"}, "add_targets": {"10.1.1.11"}}},
		{"services/a-private/access", url.Values{"access": {"mysql"}}},
		{"services/a-private/connections/accept", url.Values{"endpoint_ids": {"vpce-0123456789abcdef0"}}},
		// A field naming the other account is ignored: the account is the session's.
		{"services", url.Values{"name": {"made-by-b"}, "vpc_id": {vpc.ID}, "account": {acctA}, "owner": {acctA}, "comp_0_name": {"x"}, "comp_0_port": {"1"}}},
	} {
		form := url.Values{"csrf": {token}}
		for k, v := range action.form {
			form[k] = v
		}
		resp, body := post(t, c, f.base+action.path, form)
		if resp.StatusCode == http.StatusSeeOther || resp.StatusCode == http.StatusOK {
			t.Errorf("account B's POST %s: %s\n%s", action.path, resp.Status, body)
		}
	}
	svc, err := f.ctl.PublishedService(ctx, acctA, "a-private")
	if err != nil {
		t.Fatalf("A's service after B's posts: %v", err)
	}
	if svc.PrivateLink == nil || svc.PrivateLink.Deleting || len(svc.Components) != 1 || svc.Components[0].PrivateLinkAccess ||
		len(svc.PrivateLink.Principals) != 1 || svc.PrivateLink.Principals[0] != "arn:aws:iam::"+acctA+":root" {
		t.Errorf("account B changed A's service: %+v %+v", svc, svc.PrivateLink)
	}
	if _, err := f.ctl.PublishedService(ctx, acctA, "made-by-b"); err == nil {
		t.Errorf("account B created a service in A's account and VPC")
	}
	if svcs, _ := f.ctl.PublishedServices(ctx, acctB); len(svcs) != 0 {
		t.Errorf("account B has services %+v", svcs)
	}
}
