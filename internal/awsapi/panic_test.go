package awsapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"strait/internal/control"
	"strait/internal/model"
)

type noAccounts struct{}

func (noAccounts) AccessKey(context.Context, string) (model.AccessKey, bool, error) {
	return model.AccessKey{}, false, nil
}

// TestPanicAnswersInEnvelope checks that a panicking action still answers with an
// AWS InternalError envelope instead of dropping the connection.
func TestPanicAnswersInEnvelope(t *testing.T) {
	a, err := New(control.New(nil, control.Config{}), noAccounts{}, Config{Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	a.services["ec2"].actions["DescribeVpcs"] = func(context.Context, *caller, func(any) error) (any, error) {
		panic("boom")
	}
	body := "Action=DescribeVpcs&Version=2016-11-15"
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "111111111111", SecretAccessKey: "x"}, req, hex.EncodeToString(sum[:]), "ec2", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, req)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "<Code>InternalError</Code>") {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
}
