package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

	"strait/internal/server"
	"strait/internal/testenv"
)

// FuzzServerHandler sends arbitrary requests — method, target, header lines,
// body, and a SigV4 signature for EC2, ELBv2, the native API or none — to
// the API listener's whole handler (the AWS Query APIs, the native JSON API,
// the console, /healthz, /metrics) of a server with a real store. Whatever the request,
// the answer is one well-formed document in its API's format with a status
// below 500, and nothing is logged at error level (no panic, no internal
// error).
//
// sign's low two bits choose the signature; bit 2 makes the body continue
// with a tail of sign>>4 MiB (and a byte) of filler, declared in
// Content-Length or, with bit 3, of unknown length (chunked): the handler
// must read no more of it than its largest limit (the Query APIs' 4 MiB and
// a byte), so no request holds more memory than that.
//
//	go test ./internal/server -run '^$' -fuzz FuzzServerHandler -fuzztime 5m
func FuzzServerHandler(f *testing.F) {
	errs := &testenv.ErrorLog{}
	env := testenv.StartConfig(f, server.Config{Dev: true, Logger: slog.New(errs)})
	h := env.Server.Handler()
	form := "Content-Type: application/x-www-form-urlencoded\r\n"
	for _, s := range []struct {
		method, target, headers, body string
		sign                          uint8
	}{
		{"POST", "/", form, "Action=DescribeVpcs&Version=2016-11-15", 1},
		{"POST", "/", form, "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0/16&TagSpecification.1.ResourceType=vpc&TagSpecification.1.Tag.1.Key=k", 1},
		{"POST", "/", form, "Action=DescribeLoadBalancers&Version=2015-12-01&Names.member.1=x", 2},
		{"POST", "/", form, "Action=CreateTargetGroup&Version=2015-12-01&Name=tg&Protocol=TCP&Port=80&VpcId=vpc-0123456789abcdef0", 2},
		{"GET", "/?Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=cidr&Filter.1.Value.1=10.0.0.0/16", "", "", 1},
		{"POST", "/", form, "Action=Describe\xffVpcs&Version=2016-11-15", 0},
		{"POST", "/", "Content-Type: text/plain\r\n", "Action=DescribeVpcs", 1},
		{"GET", "/strait/v1/services", "", "", 3},
		{"POST", "/strait/v1/services", "Content-Type: application/json\r\n", `{"name":"db","vpc_id":"vpc-0123456789abcdef0","components":[{"name":"pg","port":5432,"targets":["10.0.1.5"]}]}`, 3},
		{"DELETE", "/strait/v1/services/db/privatelink?force=true", "", "", 3},
		{"GET", "/healthz", "", "", 0},
		{"GET", "/metrics", "Accept-Encoding: gzip\r\n", "", 0},
		{"PUT", "/strait/v1/../healthz", "X-Amz-Date: 20260101T000000Z\r\n", "", 0},
		{"POST", "/", "Authorization: AWS4-HMAC-SHA256 Credential=111111111111/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00\r\n", "Action=DescribeVpcs", 0},
		{"GET", "/console/", "", "", 0},
		{"POST", "/console/signin", form, "access_key_id=111111111111&secret_access_key=x", 0},
		{"GET", "/console/static/console.css", "", "", 0},
		{"POST", "/", form, "Action=DescribeVpcs&Version=2016-11-15&x=", 1 | 4 | 5<<4},
		{"POST", "/", form, "Action=DescribeVpcs&Version=2016-11-15&x=", 1 | 4 | 8 | 1<<4},
		{"POST", "/strait/v1/services", "Content-Type: application/json\r\n", `{"name":"`, 3 | 4 | 8 | 2<<4},
		{"PATCH", "/strait/v1/services/db", "Content-Type: application/json\r\n", `{"name":"`, 3 | 4 | 0<<4},
		{"POST", "/console/signin", form, "access_key_id=", 0 | 4 | 8 | 3<<4},
		{"POST", "/healthz", "", "", 0 | 4 | 15<<4},
	} {
		f.Add(s.method, s.target, s.headers, []byte(s.body), s.sign)
	}
	f.Fuzz(func(t *testing.T, method, target, headers string, body []byte, sign uint8) {
		if len(body) > 256<<10 {
			return
		}
		raw := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: %d\r\n\r\n", method, target, headers, len(body))
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw + string(body))))
		if err != nil {
			return // net/http answers 400 itself; the handler never sees it
		}
		req.URL.Scheme, req.URL.Host = "http", "127.0.0.1"
		req.RequestURI = ""
		if service := []string{"", "ec2", "elasticloadbalancing", "strait"}[sign%4]; service != "" {
			sum := sha256.Sum256(body)
			req.Body = io.NopCloser(bytes.NewReader(body))
			if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "111111111111", SecretAccessKey: "dev"},
				req, hex.EncodeToString(sum[:]), service, testenv.Region, time.Now()); err != nil {
				return
			}
		}
		var long *testenv.LongBody
		if sign&4 != 0 {
			tail := int64(sign>>4)<<20 + 1
			long = testenv.NewLongBody(body, tail)
			req.Body, req.ContentLength = long, int64(len(body))+tail
			if sign&8 != 0 {
				req.ContentLength = -1
				req.Header.Del("Content-Length")
				req.TransferEncoding = []string{"chunked"}
			} else {
				req.Header.Set("Content-Length", fmt.Sprint(req.ContentLength))
			}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if err := wellFormed(rec, req.URL.Path); err != nil {
			t.Fatalf("%s %q: %v\n%s", method, target, err, rec.Body.Bytes())
		}
		if long != nil && long.BytesRead() > maxBodyRead {
			t.Fatalf("%s %q: the handler read %d bytes of a %d-byte body (limit %d)", method, target, long.BytesRead(), int64(len(body))+int64(sign>>4)<<20+1, maxBodyRead)
		}
		if e := errs.Take(); e != "" {
			t.Fatalf("%s %q logged an error: %s", method, target, e)
		}
	})
}

// maxBodyRead is the most of a request body the handler may read: the
// largest body limit (the Query APIs' 4 MiB) and the byte that shows a body
// exceeds it.
const maxBodyRead = 4<<20 + 1

// wellFormed checks an answer to a request for path: a status below 500 and
// one document of the format its Content-Type names (the console's pages and
// assets are HTML, CSS and scripts: their status is checked).
func wellFormed(rec *httptest.ResponseRecorder, path string) error {
	if rec.Code >= 500 {
		return fmt.Errorf("status %d", rec.Code)
	}
	ct := rec.Header().Get("Content-Type")
	switch {
	case rec.Code >= 300 && rec.Code < 400:
		return nil // ServeMux's redirect to the clean path, the console's to sign in
	case strings.HasPrefix(path, "/console/"):
		return nil
	case strings.HasPrefix(ct, "text/xml"):
		return oneDocument(xml.NewDecoder(bytes.NewReader(rec.Body.Bytes())))
	case strings.HasPrefix(ct, "application/json"):
		dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
		var v any
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return errors.New("more than one JSON value")
		}
		return nil
	case strings.HasPrefix(ct, "text/plain"):
		return nil // /healthz, /metrics
	}
	return fmt.Errorf("Content-Type %q", ct)
}

// oneDocument reads an XML stream that must hold exactly one root element.
func oneDocument(dec *xml.Decoder) error {
	depth, roots := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 {
		return fmt.Errorf("%d root elements", roots)
	}
	return nil
}
