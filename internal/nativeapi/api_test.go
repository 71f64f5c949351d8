package nativeapi_test

import (
	"bytes"
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

	"strait/internal/nativeapi"
	"strait/internal/testenv"
)

// call sends a request signed for service (empty: unsigned) as account acct and
// returns the status and body.
func call(t *testing.T, env *testenv.Env, service, acct, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, env.Server.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if service != "" {
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: acct, SecretAccessKey: "secret"}
		if err := v4.NewSigner().SignHTTP(testenv.Ctx(t), creds, req, hex.EncodeToString(sum[:]), service, testenv.Region, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func errorCode(t *testing.T, b []byte) string {
	t.Helper()
	var eb nativeapi.ErrorBody
	if err := json.Unmarshal(b, &eb); err != nil || eb.Error.Message == "" {
		t.Fatalf("not a JSON error: %s", b)
	}
	return eb.Error.Code
}

// TestErrors checks that failures are JSON errors with 4xx statuses and AWS-style
// codes.
func TestErrors(t *testing.T) {
	env := testenv.Start(t)
	for _, tc := range []struct {
		service, method, path, body string
		status                      int
		code                        string
	}{
		{"", "GET", "/strait/v1/services", "", 403, "MissingAuthenticationToken"},
		{"ec2", "GET", "/strait/v1/services", "", 401, "InvalidSignature"},
		{"strait", "GET", "/strait/v1/nothing", "", 404, "UnknownOperation"},
		{"strait", "GET", "/strait/v1/services/nope", "", 404, "InvalidPublishedService.NotFound"},
		{"strait", "POST", "/strait/v1/services", "", 400, "MissingParameter"},
		{"strait", "POST", "/strait/v1/services", `{"name":"db","bogus":1}`, 400, "InvalidParameterValue"},
		{"strait", "POST", "/strait/v1/services", "{\"name\":\"d\xffb\"}", 400, "InvalidParameterValue"},
		{"strait", "GET", "/strait/v1/services/d%FFb", "", 400, "InvalidParameterValue"},
		{"strait", "POST", "/strait/v1/services", `{"name":"db","vpc_id":"vpc-0123456789abcdef0","components":[]}`, 404, "ResourceNotFound"},
		{"strait", "PATCH", "/strait/v1/services/db/privatelink", `{}`, 400, "MissingParameter"},
		{"strait", "DELETE", "/strait/v1/services/db/privatelink?force=maybe", "", 400, "InvalidParameterValue"},
		{"strait", "POST", "/strait/v1/services/db/privatelink/connections/accept", `{"endpoint_ids":[]}`, 400, "MissingParameter"},
	} {
		status, body := call(t, env, tc.service, "111111111111", tc.method, tc.path, tc.body)
		if code := errorCode(t, body); status != tc.status || code != tc.code {
			t.Errorf("%s %s: %d %s, want %d %s (%s)", tc.method, tc.path, status, code, tc.status, tc.code, body)
		}
	}
	// The AWS Query API still answers on the same listener.
	status, body := call(t, env, "ec2", "111111111111", "POST", "/", "Action=DescribeVpcs&Version=2016-11-15")
	if status != 200 || !bytes.Contains(body, []byte("DescribeVpcsResponse")) {
		t.Errorf("EC2 API: %d %s", status, body)
	}
}

// TestAccountIsolation checks that an account sees only its own services.
func TestAccountIsolation(t *testing.T) {
	env := testenv.Start(t)
	status, body := call(t, env, "ec2", "111111111111", "POST", "/", "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0/16")
	if status != 200 {
		t.Fatalf("CreateVpc: %s", body)
	}
	vpc := string(body[bytes.Index(body, []byte("<vpcId>"))+7 : bytes.Index(body, []byte("</vpcId>"))])
	status, body = call(t, env, "ec2", "111111111111", "POST", "/", "Action=CreateSubnet&Version=2016-11-15&CidrBlock=10.0.1.0/24&VpcId="+vpc)
	if status != 200 {
		t.Fatalf("CreateSubnet: %s", body)
	}
	req := `{"name":"db","vpc_id":"` + vpc + `","components":[{"name":"postgresql","port":5432,"targets":["10.0.1.5"]}]}`
	if status, body := call(t, env, "strait", "111111111111", "POST", "/strait/v1/services", req); status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	if status, body := call(t, env, "strait", "222222222222", "GET", "/strait/v1/services/db", ""); status != 404 {
		t.Errorf("another account reads the service: %d %s", status, body)
	}
	_, body = call(t, env, "strait", "222222222222", "GET", "/strait/v1/services", "")
	var list nativeapi.ServiceList
	if err := json.Unmarshal(body, &list); err != nil || len(list.Services) != 0 {
		t.Errorf("another account lists: %v %s", err, body)
	}
	_, body = call(t, env, "strait", "111111111111", "GET", "/strait/v1/services/db/connection-info?route=direct", "")
	var info nativeapi.ConnectionInfo
	if err := json.Unmarshal(body, &info); err != nil || len(info.Entries) != 1 ||
		info.Entries[0].Command != `psql "host=10.0.1.5 port=5432 user=USER dbname=DB"` {
		t.Errorf("connection info: %v %s", err, body)
	}
}
