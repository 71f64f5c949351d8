package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/prometheus/client_golang/prometheus"

	"strait/internal/control"
)

// hostileAPI is an API without a store (no request here reaches an
// operation), logging into buf.
func hostileAPI(t *testing.T, buf *bytes.Buffer) *API {
	t.Helper()
	a, err := New(control.New(nil, control.Config{}), noAccounts{}, Config{Dev: true, Logger: slog.New(slog.NewTextHandler(buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// post serves a form body, signed for service when it is not "".
func post(t *testing.T, a *API, service, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if service != "" {
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "111111111111", SecretAccessKey: "x"}, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, req)
	return rec
}

// TestMetricLabelsAreBounded: distinct Action values, signed or not, do not
// become label values: they all count as "other", so a client cannot grow the
// registry (on main, each one was a new series kept for good).
func TestMetricLabelsAreBounded(t *testing.T) {
	var logs bytes.Buffer
	a := hostileAPI(t, &logs)
	reg := prometheus.NewRegistry()
	reg.MustRegister(a.Collectors()...)
	for i := range 60 {
		action := fmt.Sprintf("Action%d%s", i, strings.Repeat("x", 32<<10))
		for _, service := range []string{"", "ec2", "elasticloadbalancing"} {
			post(t, a, service, "Version=2016-11-15&Action="+action)
		}
	}
	post(t, a, "ec2", "Version=2016-11-15&Action=DescribeVpcz")
	post(t, a, "ec2", "Version=2016-11-15")
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]bool{}
	for _, f := range families {
		if f.GetName() != "strait_api_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "action" {
					labels[l.GetValue()] = true
				}
			}
		}
	}
	if len(labels) != 2 || !labels["other"] || !labels["none"] {
		var some []string
		for l := range labels {
			some = append(some, l[:min(len(l), 20)])
		}
		t.Fatalf("%d action label values (%q…), want only \"other\" and \"none\"", len(labels), some[:min(len(some), 5)])
	}
}

// TestInvalidUTF8 sends an Action and a parameter that are not UTF-8 (signed
// and not): each gets one XML error document, 400 MalformedQueryString, and
// nothing is logged at error level (on main: the 403 or InternalError followed
// by a second document, and a panic's stack trace at ERROR).
func TestInvalidUTF8(t *testing.T) {
	for _, body := range []string{"Action=Describe\xffVpcs&Version=2016-11-15", "Action=Describe%FFVpcs&Version=2016-11-15",
		"Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0/16&TagSpecification.1.Tag.1.Value=%C3%28"} {
		for _, service := range []string{"", "ec2", "elasticloadbalancing"} {
			var logs bytes.Buffer
			a := hostileAPI(t, &logs)
			rec := post(t, a, service, body)
			code, err := oneXMLError(rec.Body.Bytes())
			if err != nil || rec.Code != 400 || code != "MalformedQueryString" {
				t.Errorf("%q signed for %q: %d %q (%v)\n%s", body, service, rec.Code, code, err, rec.Body.String())
			}
			if strings.Contains(logs.String(), "level=ERROR") || strings.Contains(logs.String(), "goroutine") {
				t.Errorf("%q signed for %q logged an error:\n%.400s", body, service, logs.String())
			}
		}
	}
}

// oneXMLError parses body as exactly one well-formed XML document and returns
// its error code.
func oneXMLError(body []byte) (string, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	depth, roots, code := 0, 0, ""
	inCode := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
			inCode = tok.Name.Local == "Code"
		case xml.EndElement:
			depth--
			inCode = false
		case xml.CharData:
			if inCode {
				code += string(tok)
			}
		case xml.ProcInst:
			if roots > 0 {
				return "", errors.New("a second XML declaration after the root element")
			}
		}
	}
	if roots != 1 {
		return "", fmt.Errorf("%d root elements", roots)
	}
	return code, nil
}
