package awsapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"strait/internal/awsapi"
	"strait/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenStep is one request of the golden scenario. Its normalized response is
// compared with testdata/golden/<Name>.xml. Params values may name captures of
// earlier steps as {{name}}; Capture stores the text of the first element with the
// given local name (or, with a "/N" suffix, the N-th, from 1).
type goldenStep struct {
	Name    string
	Service string // "ec2" or "elasticloadbalancing"
	Account string
	Action  string
	Params  map[string]string
	Capture map[string]string
	Status  int // expected HTTP status; 0 means 200
	// Before, when set, runs before the request (to wait for an asynchronous state
	// change, or to set up something outside the API such as a DNS server).
	Before func(t *testing.T, env *testenv.Env, captures map[string]string)
}

// goldenScenarios run in this order against one server; each later scenario may use
// the captures of earlier ones. Every action of every service must be the Action of
// at least one successful step.
var goldenScenarios = []func() []goldenStep{
	goldenVPC,
	goldenNetwork,
	goldenELB,
	goldenPrivateLink,
	goldenReview,
	goldenInstances,
	goldenFidelity,
	goldenDefaultVpc,
}

const (
	provider = "111111111111"
	consumer = "222222222222"
)

func TestGolden(t *testing.T) {
	env := testenv.Start(t)
	captures := map[string]string{}
	covered := map[string]bool{}
	norm := newNormalizer()
	seen := map[string]bool{}
	for _, scenario := range goldenScenarios {
		for _, step := range scenario() {
			if seen[step.Name] {
				t.Fatalf("golden step name %s used twice", step.Name)
			}
			seen[step.Name] = true
			if step.Before != nil {
				step.Before(t, env, captures)
			}
			status, body := doStep(t, env, step, captures)
			want := step.Status
			if want == 0 {
				want = 200
			}
			if status != want {
				t.Fatalf("%s: status %d, want %d\n%s", step.Name, status, want, body)
			}
			if status == 200 {
				covered[step.Service+":"+step.Action] = true
			}
			for name, elem := range step.Capture {
				v := captureElem(body, elem)
				if v == "" {
					t.Fatalf("%s: no element %s to capture as %s in\n%s", step.Name, elem, name, body)
				}
				captures[name] = v
			}
			got := norm.apply(indentXML(t, body))
			file := filepath.Join("testdata", "golden", step.Name+".xml")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			wantBody, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%s: %v (run go test ./internal/awsapi -run TestGolden -update)", step.Name, err)
			}
			if string(wantBody) != got {
				t.Errorf("%s: response differs from %s\n--- got\n%s\n--- want\n%s", step.Name, file, got, wantBody)
			}
		}
	}
	for svc, actions := range awsapi.Actions() {
		for _, name := range actions {
			if !covered[svc+":"+name] {
				t.Errorf("action %s:%s has no successful golden step", svc, name)
			}
		}
	}
}

func doStep(t *testing.T, env *testenv.Env, step goldenStep, captures map[string]string) (int, []byte) {
	t.Helper()
	form := url.Values{"Action": {step.Action}}
	if step.Service == "ec2" {
		form.Set("Version", "2016-11-15")
	} else {
		form.Set("Version", "2015-12-01")
	}
	for k, v := range step.Params {
		form.Set(k, expand(t, v, captures))
	}
	return signedPost(t, env.Server.URL(), step.Service, step.Account, form.Encode())
}

// signedPost sends a SigV4-signed form POST as the SDKs do.
func signedPost(t *testing.T, base, service, account, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: account, SecretAccessKey: "secret"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, testenv.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

var placeholder = regexp.MustCompile(`\{\{([a-zA-Z0-9_]+)\}\}`)

func expand(t *testing.T, v string, captures map[string]string) string {
	return placeholder.ReplaceAllStringFunc(v, func(m string) string {
		name := m[2 : len(m)-2]
		c, ok := captures[name]
		if !ok {
			t.Fatalf("no capture named %s", name)
		}
		return c
	})
}

// captureElem returns the text of the first (or, with "name/N", the N-th) element
// with the given local name.
func captureElem(body []byte, spec string) string {
	name, nth := spec, 1
	if i := strings.IndexByte(spec, '/'); i >= 0 {
		name = spec[:i]
		nth, _ = strconv.Atoi(spec[i+1:])
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	n := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == name {
			n++
			if n == nth {
				var s string
				if err := dec.DecodeElement(&s, &se); err != nil {
					return ""
				}
				return s
			}
		}
	}
}

// indentXML re-indents a document so that golden files are readable and diffs
// small: one element per line, text elements on the line of their tags.
func indentXML(t *testing.T, body []byte) string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(body))
	var out strings.Builder
	depth := 0
	open := false // the last token was a start element whose line is still open
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("response is not XML: %v\n%s", err, body)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			if out.Len() > 0 {
				out.WriteString("\n")
			}
			out.WriteString(strings.Repeat("  ", depth) + "<" + x.Name.Local)
			for _, a := range x.Attr {
				out.WriteString(" " + a.Name.Local + "=\"" + a.Value + "\"")
			}
			out.WriteString(">")
			depth++
			open = true
		case xml.EndElement:
			depth--
			if !open {
				out.WriteString("\n" + strings.Repeat("  ", depth))
			}
			out.WriteString("</" + x.Name.Local + ">")
			open = false
		case xml.CharData:
			if text := bytes.TrimSpace(x); len(text) > 0 {
				_ = xml.EscapeText(&out, text)
			}
		}
	}
	return out.String() + "\n"
}

// normalizer replaces generated values (IDs, ARN suffixes, times, request IDs,
// tokens) with stable placeholders numbered in order of first appearance.
type normalizer struct {
	seen  map[string]string
	count map[string]int
}

func newNormalizer() *normalizer {
	return &normalizer{seen: map[string]string{}, count: map[string]int{}}
}

var (
	idRe        = regexp.MustCompile(`\b(vpc-cidr-assoc|vpce-svc-perm|vpce-svc|vpce-nfn|vpce-con|vpce|vpc|subnet|sgr|sg|eni-attach|eni|rtbassoc|rtb|aclassoc|acl|dopt|i|r)-([0-9a-f]{17})\b`)
	arnIDRe     = regexp.MustCompile(`/([0-9a-f]{16})\b`)
	requestIDRe = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	timeRe      = regexp.MustCompile(`\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\d(\.\d+)?Z| \d\d:\d\d:\d\d GMT)`)
	dnsLabelRe  = regexp.MustCompile(`(vpce-[0-9a-f]{17})-([a-z0-9]{8})\b`)
	tokenRe     = regexp.MustCompile(`(vpce:|_)([a-zA-Z0-9]{20,})\b`)
	macRe       = regexp.MustCompile(`\b02(:[0-9a-f]{2}){5}\b`)
	lbDNSRe     = regexp.MustCompile(`-([0-9a-f]{16})\.elb\.`)
)

func (n *normalizer) apply(s string) string {
	s = requestIDRe.ReplaceAllString(s, "REQUEST-ID")
	s = timeRe.ReplaceAllString(s, "TIMESTAMP")
	s = macRe.ReplaceAllString(s, "MAC")
	s = dnsLabelRe.ReplaceAllStringFunc(s, func(m string) string {
		sub := dnsLabelRe.FindStringSubmatch(m)
		return sub[1] + "-" + n.name("label", sub[2])
	})
	s = tokenRe.ReplaceAllStringFunc(s, func(m string) string {
		sub := tokenRe.FindStringSubmatch(m)
		return sub[1] + n.name("token", sub[2])
	})
	s = idRe.ReplaceAllStringFunc(s, func(m string) string {
		sub := idRe.FindStringSubmatch(m)
		return sub[1] + "-" + n.name(sub[1], sub[2])
	})
	s = lbDNSRe.ReplaceAllStringFunc(s, func(m string) string {
		sub := lbDNSRe.FindStringSubmatch(m)
		return "-" + n.name("arn", sub[1]) + ".elb."
	})
	return arnIDRe.ReplaceAllStringFunc(s, func(m string) string {
		return "/" + n.name("arn", m[1:])
	})
}

func (n *normalizer) name(kind, raw string) string {
	k := kind + ":" + raw
	if v, ok := n.seen[k]; ok {
		return v
	}
	n.count[kind]++
	v := fmt.Sprintf("%s%d", strings.ToUpper(kind[:1]), n.count[kind])
	if kind == "arn" || kind == "label" || kind == "token" {
		v = strings.ToUpper(kind) + strconv.Itoa(n.count[kind])
	} else {
		v = fmt.Sprintf("%0*d", 3, n.count[kind])
	}
	n.seen[k] = v
	return v
}
