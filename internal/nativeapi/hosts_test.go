package nativeapi_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"strait/internal/hosts"
	"strait/internal/nativeapi"
	"strait/internal/server"
	"strait/internal/testenv"
)

// On a --dev server any account manages hosts: a token names the region's CA,
// lifetimes out of range and unknown hosts are errors in the API's format.
func TestHostRoutes(t *testing.T) {
	env := testenv.Start(t)
	const acct = "111111111111"
	status, body := call(t, env, "strait", acct, "POST", "/strait/v1/hosts/tokens", `{"ttl_seconds": 600}`)
	if status != http.StatusCreated {
		t.Fatalf("create token: %d %s", status, body)
	}
	var tok nativeapi.JoinToken
	if err := json.Unmarshal(body, &tok); err != nil {
		t.Fatal(err)
	}
	parsed, err := hosts.ParseToken(tok.Token)
	if err != nil || parsed.ID != tok.TokenID || parsed.Pin != tok.CASHA256 {
		t.Fatalf("token %+v: %v", tok, err)
	}
	ca, _ := env.Server.Hosts().CA(testenv.Ctx(t))
	if tok.CASHA256 != ca.Pin() {
		t.Errorf("the token names CA %s, the region's is %s", tok.CASHA256, ca.Pin())
	}
	if d := time.Until(tok.Expires); d < 9*time.Minute || d > 10*time.Minute {
		t.Errorf("expires in %s, want 10m", d)
	}
	for _, c := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"POST", "/strait/v1/hosts/tokens", `{"ttl_seconds": 10}`, 400, "InvalidParameterValue"},
		{"POST", "/strait/v1/hosts/tokens", `{"ttl": "1h"}`, 400, "InvalidParameterValue"},
		{"DELETE", "/strait/v1/hosts/host-0123456789abcdef", "", 404, "ResourceNotFound"},
		{"DELETE", "/strait/v1/hosts/i-123", "", 400, "InvalidParameterValue"},
	} {
		status, body := call(t, env, "strait", acct, c.method, c.path, c.body)
		if status != c.status || errorCode(t, body) != c.code {
			t.Errorf("%s %s %s: %d %s, want %d %s", c.method, c.path, c.body, status, body, c.status, c.code)
		}
	}
	if status, body := call(t, env, "strait", acct, "GET", "/strait/v1/hosts", ""); status != 200 || strings.TrimSpace(string(body)) != "{\n  \"hosts\": []\n}" {
		t.Errorf("list: %d %s", status, body)
	}
}

// Without --dev an account is not the region's operator: the host routes refuse it.
func TestHostRoutesNeedTheOperator(t *testing.T) {
	env := testenv.StartConfig(t, server.Config{})
	_, key, err := env.Server.Control().CreateAccount(testenv.Ctx(t), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/strait/v1/hosts/tokens", `{}`}, {"GET", "/strait/v1/hosts", ""}, {"DELETE", "/strait/v1/hosts/host-0123456789abcdef", ""},
	} {
		req, _ := http.NewRequest(r.method, env.URL()+r.path, strings.NewReader(r.body))
		sum := sha256.Sum256([]byte(r.body))
		creds := aws.Credentials{AccessKeyID: key.ID, SecretAccessKey: key.Secret}
		if err := v4.NewSigner().SignHTTP(testenv.Ctx(t), creds, req, hex.EncodeToString(sum[:]), "strait", testenv.Region, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || errorCode(t, body) != "UnauthorizedOperation" || !strings.Contains(string(body), "admin socket") {
			t.Errorf("%s %s: %d %s", r.method, r.path, resp.StatusCode, body)
		}
	}
}
