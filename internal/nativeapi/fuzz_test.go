package nativeapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"strait/internal/nativeapi"
	"strait/internal/server"
	"strait/internal/testenv"
)

// FuzzNativeAPI sends signed native API requests with an arbitrary method,
// route under /strait/v1/, query and JSON body, as one of two accounts, to a
// server with a real store and a VPC, subnets and a published service to
// work on. Every answer is one JSON value with a status below 500 — an error
// object for every failure — and nothing is logged at error level.
//
// acct's low bit chooses the account; bit 1 makes the body continue with a
// tail of acct>>4 MiB (and a byte) of filler, declared in Content-Length or,
// with bit 2, of unknown length (chunked): the API must read no more of it
// than its 1 MiB limit and a byte, so no request holds more memory than that.
//
//	go test ./internal/nativeapi -run '^$' -fuzz FuzzNativeAPI -fuzztime 5m
func FuzzNativeAPI(f *testing.F) {
	errs := &testenv.ErrorLog{}
	env := testenv.StartConfig(f, server.Config{Dev: true, Logger: slog.New(errs)})
	vpc, _ := env.Network("111111111111", testenv.Zones(2)...)
	h := env.Server.Handler()
	svc := `{"name":"db","vpc_id":"` + vpc + `","components":[{"name":"pg","port":5432,"targets":["10.0.1.5"]}]}`
	if rec, _ := serveNative(h, 0, "POST", "services", "", []byte(svc)); rec.Code != http.StatusCreated {
		f.Fatalf("creating the service: %d %s", rec.Code, rec.Body)
	}
	for _, s := range []struct {
		method   uint8
		route, q string
		body     string
		acct     uint8
	}{
		{0, "services", "", "", 0},
		{1, "services", "", `{"name":"kafka","vpc_id":"` + vpc + `","components":[{"name":"kafka","port":9092,"targets":["10.0.1.10","i-0123456789abcdef0"]}]}`, 0},
		{0, "services/db", "", "", 1},
		{2, "services/db", "", `{"add_components":[{"name":"x","port":1}],"components":{"pg":{"port":5433,"privatelink_access":true}},"remove_components":["y"]}`, 0},
		{1, "services/db/privatelink", "", `{"principals":["arn:aws:iam::222222222222:root"],"acceptance_required":true}`, 0},
		{2, "services/db/privatelink", "", `{"principals":["*"],"private_dns_name":"db.example.com"}`, 0},
		{1, "services/db/privatelink/verify-dns", "", "", 0},
		{0, "services/db/privatelink/connections", "", "", 0},
		{1, "services/db/privatelink/connections/accept", "", `{"endpoint_ids":["vpce-0123456789abcdef0"]}`, 0},
		{3, "services/db/privatelink", "force=true", "", 0},
		{0, "services/db/connection-info", "", "", 0},
		{3, "services/db", "", "", 1},
		{1, "services", "", "{\"name\":\"d\xffb\"}", 0},
		{1, "services", "", `[]`, 0},
		{0, "services/%2e%2e/x", "a=%zz", "", 0},
		{1, "services", "", `{"name":"`, 2 | 1<<4},
		{2, "services/db", "", `{"name":"`, 1 | 2 | 4 | 3<<4},
		{1, "services/db/privatelink", "", `{}`, 2 | 0<<4},
		{3, "services/db", "", "", 2 | 4 | 15<<4},
	} {
		f.Add(s.method, s.route, s.q, []byte(s.body), s.acct)
	}
	f.Fuzz(func(t *testing.T, method uint8, route, query string, body []byte, acct uint8) {
		if len(body) > 64<<10 {
			return
		}
		rec, read := serveNative(h, acct, []string{"GET", "POST", "PATCH", "DELETE", "PUT"}[method%5], route, query, body)
		if rec == nil {
			return // not a request a client can send
		}
		if err := oneJSONAnswer(rec); err != nil {
			t.Fatalf("%q %q: %v\n%s", route, query, err, rec.Body.Bytes())
		}
		if read > 1<<20+1 {
			t.Fatalf("%q %q: the API read %d bytes of the body (limit 1 MiB and a byte)", route, query, read)
		}
		if e := errs.Take(); e != "" {
			t.Fatalf("%q %q logged an error: %s", route, query, e)
		}
	})
}

// serveNative signs a request for the native API as account acct (of two),
// with body continued by a long tail if acct says so (see FuzzNativeAPI), and
// serves it; it returns the answer (nil if no client could send the request)
// and how many bytes of the body the API read.
func serveNative(h http.Handler, acct uint8, method, route, query string, body []byte) (*httptest.ResponseRecorder, int64) {
	u, err := url.Parse("http://127.0.0.1" + nativeapi.Prefix + route)
	if err != nil || u.Host != "127.0.0.1" {
		return nil, 0
	}
	u.RawQuery = query
	req, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, 0
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	var long *testenv.LongBody
	if acct&2 != 0 {
		tail := int64(acct>>4)<<20 + 1
		long = testenv.NewLongBody(body, tail)
		req.Body, req.ContentLength = long, int64(len(body))+tail
		if acct&4 != 0 {
			req.ContentLength, req.TransferEncoding = -1, []string{"chunked"}
		}
	}
	sum := sha256.Sum256(body)
	key := []string{"111111111111", "222222222222"}[acct%2]
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: "dev"}, req,
		hex.EncodeToString(sum[:]), nativeapi.SigningName, testenv.Region, time.Now()); err != nil {
		return nil, 0
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if long == nil {
		return rec, 0
	}
	return rec, long.BytesRead()
}

// oneJSONAnswer checks an answer: a status below 500, one JSON value, and an
// error object ({"error":{"code","message"}}) for every failure. A redirect
// to the clean path (net/http's ServeMux) is not the API's answer.
func oneJSONAnswer(rec *httptest.ResponseRecorder) error {
	switch {
	case rec.Code >= 500:
		return fmt.Errorf("status %d", rec.Code)
	case rec.Code >= 300 && rec.Code < 400:
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("more than one JSON value")
	}
	if rec.Code >= 400 {
		var eb nativeapi.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
			return fmt.Errorf("status %d without an error object", rec.Code)
		}
	}
	return nil
}
