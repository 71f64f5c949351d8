package sigv4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testAKID     = "AKIDEXAMPLE"
	testSecret   = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testBody     = "Action=DescribeVpcs&Version=2016-11-15"
	testFormType = "application/x-www-form-urlencoded; charset=utf-8"
)

// testSignTime is when the tests sign requests.
func testSignTime() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

func testLookup(akid string) (string, bool) {
	if akid == testAKID {
		return testSecret, true
	}
	return "", false
}

func payloadHash(body string) string {
	h := sha256.Sum256([]byte(body))
	return hex.EncodeToString(h[:])
}

// verifyConfig is how the test server calls Verify.
type verifyConfig struct {
	lookup SecretLookup
	now    time.Time
	skip   bool
}

type verifyResult struct {
	cred Credential
	err  error
}

// send sends req to a fresh httptest.Server whose handler verifies it, so
// that the request is seen exactly as Go's HTTP server parses it.
func send(t *testing.T, cfg verifyConfig, build func(serverURL string) *http.Request) (Credential, error) {
	t.Helper()
	results := make(chan verifyResult, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			results <- verifyResult{err: err}
			return
		}
		cred, err := Verify(r, body, cfg.lookup, cfg.now, cfg.skip)
		results <- verifyResult{cred, err}
	}))
	defer srv.Close()
	resp, err := srv.Client().Do(build(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	res := <-results
	return res.cred, res.err
}

// signedPost returns a form POST signed by the Go SDK with the given secret.
func signedPost(t *testing.T, serverURL, akid, secret, body string, edit func(*http.Request)) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, serverURL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", testFormType)
	if edit != nil {
		edit(req)
	}
	creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash(body), "ec2", "us-east-1", testSignTime()); err != nil {
		t.Fatal(err)
	}
	return req
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("error = %v, want *Error with code %s", err, code)
	}
	if se.Code != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}

func TestVerify(t *testing.T) {
	valid := verifyConfig{lookup: testLookup, now: testSignTime().Add(time.Minute)}
	wantCred := Credential{AccessKeyID: testAKID, Date: "20260102", Region: "us-east-1", Service: "ec2"}
	tests := []struct {
		name  string
		cfg   verifyConfig
		build func(u string) *http.Request
		code  string // "" for success
		akid  string // expected access key ID if not testAKID
	}{
		{"valid", valid, func(u string) *http.Request {
			return signedPost(t, u, testAKID, testSecret, testBody, nil)
		}, "", ""},
		{"wrong secret", valid, func(u string) *http.Request {
			return signedPost(t, u, testAKID, "wrong", testBody, nil)
		}, "SignatureDoesNotMatch", ""},
		{"tampered body", valid, func(u string) *http.Request {
			req := signedPost(t, u, testAKID, testSecret, testBody, nil)
			tampered := strings.Replace(testBody, "DescribeVpcs", "DeleteVpcsXX", 1)
			req.Body = io.NopCloser(strings.NewReader(tampered))
			return req
		}, "SignatureDoesNotMatch", ""},
		{"tampered body with signed x-amz-content-sha256", valid, func(u string) *http.Request {
			req := signedPost(t, u, testAKID, testSecret, testBody, func(r *http.Request) {
				r.Header.Set("X-Amz-Content-Sha256", payloadHash(testBody))
			})
			tampered := strings.Replace(testBody, "DescribeVpcs", "DeleteVpcsXX", 1)
			req.Body = io.NopCloser(strings.NewReader(tampered))
			return req
		}, "SignatureDoesNotMatch", ""},
		{"signed x-amz-content-sha256", valid, func(u string) *http.Request {
			return signedPost(t, u, testAKID, testSecret, testBody, func(r *http.Request) {
				r.Header.Set("X-Amz-Content-Sha256", payloadHash(testBody))
			})
		}, "", ""},
		{"unknown key", valid, func(u string) *http.Request {
			return signedPost(t, u, "AKIDUNKNOWN", testSecret, testBody, nil)
		}, "InvalidClientTokenId", ""},
		{"expired", verifyConfig{lookup: testLookup, now: testSignTime().Add(16 * time.Minute)}, func(u string) *http.Request {
			return signedPost(t, u, testAKID, testSecret, testBody, nil)
		}, "RequestExpired", ""},
		{"future", verifyConfig{lookup: testLookup, now: testSignTime().Add(-16 * time.Minute)}, func(u string) *http.Request {
			return signedPost(t, u, testAKID, testSecret, testBody, nil)
		}, "RequestExpired", ""},
		{"skip signature, wrong secret", verifyConfig{skip: true}, func(u string) *http.Request {
			return signedPost(t, u, testAKID, "anything", testBody, nil)
		}, "", ""},
		{"skip signature, unknown key", verifyConfig{skip: true}, func(u string) *http.Request {
			return signedPost(t, u, "AKIDUNKNOWN", "anything", testBody, nil)
		}, "", "AKIDUNKNOWN"},
		{"skip signature, missing auth", verifyConfig{skip: true}, func(u string) *http.Request {
			req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(testBody))
			return req
		}, "MissingAuthenticationToken", ""},
		{"missing auth", valid, func(u string) *http.Request {
			req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(testBody))
			req.Header.Set("Content-Type", testFormType)
			return req
		}, "MissingAuthenticationToken", ""},
		{"unsupported algorithm", valid, func(u string) *http.Request {
			req := signedPost(t, u, testAKID, testSecret, testBody, nil)
			req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512", 1))
			return req
		}, "IncompleteSignature", ""},
		{"tampered signed header", valid, func(u string) *http.Request {
			req := signedPost(t, u, testAKID, testSecret, testBody, nil)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return req
		}, "SignatureDoesNotMatch", ""},
		{"header with extra spaces and several values", valid, func(u string) *http.Request {
			return signedPost(t, u, testAKID, testSecret, testBody, func(r *http.Request) {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded;   charset=utf-8")
				r.Header["X-Custom"] = []string{"  a   b  c ", "d    e"}
			})
		}, "", ""},
		{"query parameters needing encoding", valid, func(u string) *http.Request {
			// "a/b" and "a-b" sort differently before and after encoding.
			q := url.Values{"Action": {"DescribeVpcs"}, "Filter.1.Value.1": {"a/b", "a-b", "x y+z*~"}, "Version": {"2016-11-15"}}
			req, _ := http.NewRequest(http.MethodGet, u+"/?"+q.Encode(), nil)
			creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash(""), "ec2", "us-east-1", testSignTime()); err != nil {
				t.Fatal(err)
			}
			return req
		}, "", ""},
		{"path needing encoding", valid, func(u string) *http.Request {
			req, _ := http.NewRequest(http.MethodGet, u+"/a%20b/%E2%82%AC~x/", nil)
			creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash(""), "ec2", "us-east-1", testSignTime()); err != nil {
				t.Fatal(err)
			}
			return req
		}, "", ""},
		{"presigned GET, unsigned payload", valid, presigned(t, unsignedPayload, 300), "", ""},
		{"presigned GET, empty payload hash", valid, presigned(t, payloadHash(""), 300), "", ""},
		{"presigned GET, no X-Amz-Expires", valid, presigned(t, unsignedPayload, 0), "", ""},
		{"presigned GET, wrong payload hash", valid, presigned(t, payloadHash("x"), 300), "SignatureDoesNotMatch", ""},
		{"presigned GET, expired", verifyConfig{lookup: testLookup, now: testSignTime().Add(301 * time.Second)}, presigned(t, unsignedPayload, 300), "RequestExpired", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cred, err := send(t, tt.cfg, tt.build)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := wantCred
			if tt.akid != "" {
				want.AccessKeyID = tt.akid
			}
			if cred != want {
				t.Errorf("credential = %+v, want %+v", cred, want)
			}
		})
	}
}

// presigned returns a builder of a GET presigned by the Go SDK.
func presigned(t *testing.T, payload string, expires int) func(string) *http.Request {
	return func(u string) *http.Request {
		t.Helper()
		target := u + "/?Action=DescribeVpcs&Version=2016-11-15"
		if expires > 0 {
			target += "&X-Amz-Expires=" + strconv.Itoa(expires)
		}
		req, err := http.NewRequest(http.MethodGet, target, nil)
		if err != nil {
			t.Fatal(err)
		}
		creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
		signedURL, header, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, payload, "ec2", "us-east-1", testSignTime())
		if err != nil {
			t.Fatal(err)
		}
		out, err := http.NewRequest(http.MethodGet, signedURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			out.Header[k] = v
		}
		return out
	}
}

// TestVerifySigV4Direct checks a request built with httptest.NewRequest, as a
// server sees it but without a Content-Length header.
func TestVerifySigV4Direct(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
	now := testSignTime().Add(time.Minute)

	r := httptest.NewRequest(http.MethodPost, "http://example.com:8080/", strings.NewReader(testBody))
	r.Header.Set("Content-Type", testFormType)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, payloadHash(testBody), "elasticloadbalancing", "eu-west-1", testSignTime()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Header.Get("Authorization"), "content-length") || r.Header.Get("Content-Length") != "" {
		t.Fatalf("test setup: want content-length signed but absent from the header: %v", r.Header)
	}
	cred, err := Verify(r, []byte(testBody), testLookup, now, false)
	want := Credential{AccessKeyID: testAKID, Date: "20260102", Region: "eu-west-1", Service: "elasticloadbalancing"}
	if err != nil || cred != want {
		t.Fatalf("Verify = %+v, %v; want %+v", cred, err, want)
	}

	// Without X-Amz-Date or Date, the request is incomplete.
	r.Header.Del("X-Amz-Date")
	_, err = Verify(r, []byte(testBody), testLookup, now, false)
	wantCode(t, err, "IncompleteSignature")
}

// TestVerifySigV4DateHeader checks the get-vanilla case of AWS's original
// SigV4 test suite, which is dated by a Date header rather than X-Amz-Date.
func TestVerifySigV4DateHeader(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "http://host.foo.com/", nil)
	r.Header.Set("Date", "Mon, 09 Sep 2011 23:36:00 GMT")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, "+
		"SignedHeaders=date;host, Signature=b27ccfbfa7df52a200ff74193ca6e32d4b48b8856fab7ebf1c595d0670a7e470")
	now := time.Date(2011, 9, 9, 23, 40, 0, 0, time.UTC)
	if _, err := Verify(r, nil, testLookup, now, false); err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Date", "Mon, 09 Sep 2011 23:36:01 GMT")
	_, err := Verify(r, nil, testLookup, now, false)
	wantCode(t, err, "SignatureDoesNotMatch")
}

func TestParseCredential(t *testing.T) {
	const sig = "Signature=0123456789abcdef"
	tests := []struct {
		name, auth, query, code string
		want                    Credential
	}{
		{name: "header", auth: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, " + sig,
			want: Credential{"AKID", "20260101", "us-east-1", "ec2"}},
		{name: "header without spaces", auth: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request,SignedHeaders=host," + sig,
			want: Credential{"AKID", "20260101", "us-east-1", "ec2"}},
		{name: "presigned", query: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Feu-west-1%2Felasticloadbalancing%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
			want: Credential{"AKID", "20260101", "eu-west-1", "elasticloadbalancing"}},
		{name: "missing", code: "MissingAuthenticationToken"},
		{name: "sigv2", auth: "AWS AKID:c2lnbmF0dXJl", code: "IncompleteSignature"},
		{name: "no credential", auth: "AWS4-HMAC-SHA256 SignedHeaders=host, " + sig, code: "IncompleteSignature"},
		{name: "no signature", auth: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host", code: "IncompleteSignature"},
		{name: "short scope", auth: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/aws4_request, SignedHeaders=host, " + sig, code: "IncompleteSignature"},
		{name: "bad date", auth: "AWS4-HMAC-SHA256 Credential=AKID/2026011/us-east-1/ec2/aws4_request, SignedHeaders=host, " + sig, code: "IncompleteSignature"},
		{name: "bad terminator", auth: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws5_request, SignedHeaders=host, " + sig, code: "IncompleteSignature"},
		{name: "host not signed", auth: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request, SignedHeaders=x-amz-date, " + sig, code: "IncompleteSignature"},
		{name: "garbage component", auth: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, " + sig + ", junk", code: "IncompleteSignature"},
		{name: "both mechanisms", auth: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, " + sig,
			query: "X-Amz-Algorithm=AWS4-HMAC-SHA256", code: "IncompleteSignature"},
		{name: "presigned without signature", query: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Feu-west-1%2Fec2%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-SignedHeaders=host",
			code: "IncompleteSignature"},
		{name: "presigned bad expiry", query: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Feu-west-1%2Fec2%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00&X-Amz-Expires=-1",
			code: "IncompleteSignature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/?"+tt.query, nil)
			r.Header.Set("X-Amz-Date", "20260101T000000Z")
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			cred, err := ParseCredential(r)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil || cred != tt.want {
				t.Fatalf("ParseCredential = %+v, %v; want %+v", cred, err, tt.want)
			}
		})
	}
}

func FuzzParseCredential(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "", "20260101T000000Z")
	f.Add("", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fr%2Fs%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00&X-Amz-Expires=60", "")
	f.Add("AWS4-HMAC-SHA256 ,,=,Credential=/////", "a=%zz;b", "Mon, 02 Jan 2006 15:04:05 GMT")
	f.Fuzz(func(t *testing.T, auth, rawQuery, date string) {
		r := &http.Request{Method: http.MethodGet, Host: "h", URL: &url.URL{Path: "/a/../b//", RawQuery: rawQuery}, Header: http.Header{}}
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Amz-Date", date)
		r.Header["X-Custom"] = []string{auth, date}
		lookup := func(string) (string, bool) { return "secret", true }
		for _, err := range []error{
			func() error { _, err := ParseCredential(r); return err }(),
			func() error { _, err := Verify(r, []byte(auth), lookup, time.Now(), false); return err }(),
		} {
			var se *Error
			if err != nil && !errors.As(err, &se) {
				t.Fatalf("error %v is not a *Error", err)
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/", strings.NewReader(testBody))
	r.Header.Set("Content-Type", testFormType)
	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, payloadHash(testBody), "ec2", "us-east-1", testSignTime()); err != nil {
		b.Fatal(err)
	}
	body := []byte(testBody)
	now := testSignTime().Add(time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(r, body, testLookup, now, false); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAWSCLI checks requests signed by botocore through the AWS CLI v1.
func TestAWSCLI(t *testing.T) {
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not found on PATH")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		cred, err := Verify(r, body, testLookup, time.Now(), false)
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		var se *Error
		switch {
		case errors.As(err, &se):
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, "<Response><Errors><Error><Code>"+se.Code+"</Code><Message>"+se.Message+
				"</Message></Error></Errors><RequestID>r</RequestID></Response>")
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		case cred.Service != "ec2" || cred.Region != "us-east-1":
			http.Error(w, "wrong scope", http.StatusBadRequest)
		default:
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><DescribeAvailabilityZonesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">`+
				`<requestId>r</requestId><availabilityZoneInfo/></DescribeAvailabilityZonesResponse>`)
		}
	}))
	defer srv.Close()

	run := func(akid, secret string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsCLI, "ec2", "describe-availability-zones", "--endpoint-url", srv.URL, "--region", "us-east-1")
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "AWS_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env,
			"AWS_ACCESS_KEY_ID="+akid, "AWS_SECRET_ACCESS_KEY="+secret,
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
			"AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=1")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(testAKID, testSecret); err != nil {
		t.Fatalf("aws with the right secret: %v\n%s", err, out)
	}
	for _, c := range []struct{ akid, secret, code string }{
		{testAKID, "wrong", "SignatureDoesNotMatch"},
		{"AKIDUNKNOWN", testSecret, "InvalidClientTokenId"},
	} {
		out, err := run(c.akid, c.secret)
		if err == nil || !strings.Contains(out, c.code) {
			t.Errorf("aws with key %s, secret %s: err = %v, want failure with %s; output:\n%s", c.akid, c.secret, err, c.code, out)
		}
	}
}
