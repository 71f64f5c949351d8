package sigv4

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"strait/internal/model"
)

// keyStore is an Accounts over a fixed set of keys; fail makes every lookup an
// error, as a store that cannot be read.
type keyStore struct {
	keys map[string]model.AccessKey
	fail bool
}

func (s keyStore) AccessKey(_ context.Context, id string) (model.AccessKey, bool, error) {
	if s.fail {
		return model.AccessKey{}, false, errors.New("store unavailable")
	}
	k, ok := s.keys[id]
	return k, ok, nil
}

// signedNow is a form POST signed now by the Go SDK for ec2 in region.
func signedNow(t *testing.T, akid, secret, region string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/", strings.NewReader(testBody))
	r.Header.Set("Content-Type", testFormType)
	creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, payloadHash(testBody), "ec2", region, time.Now()); err != nil {
		t.Fatal(err)
	}
	return r
}

// VerifyAccount resolves a verified key to its account, refuses a wrong secret,
// an unknown key, a key the store cannot read and another region; in dev mode
// it takes any secret and derives the account from the key ID.
func TestVerifyAccount(t *testing.T) {
	store := keyStore{keys: map[string]model.AccessKey{testAKID: {ID: testAKID, Secret: testSecret, Account: "111122223333"}}}
	verify := func(r *http.Request, accounts Accounts, dev bool) (string, error) {
		t.Helper()
		cred, err := ParseCredential(r)
		if err != nil {
			t.Fatal(err)
		}
		return VerifyAccount(context.Background(), r, []byte(testBody), cred, accounts, "us-east-1", dev)
	}

	if account, err := verify(signedNow(t, testAKID, testSecret, "us-east-1"), store, false); err != nil || account != "111122223333" {
		t.Errorf("a valid key: %q, %v; want account 111122223333", account, err)
	}
	for _, c := range []struct {
		name     string
		r        *http.Request
		accounts Accounts
		code     string
	}{
		{"wrong secret", signedNow(t, testAKID, "wrong", "us-east-1"), store, "SignatureDoesNotMatch"},
		{"unknown key", signedNow(t, "AKIDUNKNOWN", testSecret, "us-east-1"), store, "InvalidClientTokenId"},
		{"unreadable store", signedNow(t, testAKID, testSecret, "us-east-1"), keyStore{fail: true}, "InvalidClientTokenId"},
		{"other region", signedNow(t, testAKID, testSecret, "eu-west-1"), store, "AuthFailure"},
	} {
		account, err := verify(c.r, c.accounts, false)
		if account != "" {
			t.Errorf("%s: account %q, want none", c.name, account)
		}
		wantCode(t, err, c.code)
	}

	// Dev mode: any secret; a 12-digit key ID is that account, others 000000000000.
	for akid, want := range map[string]string{"444455556666": "444455556666", "AKIDUNKNOWN": "000000000000"} {
		if account, err := verify(signedNow(t, akid, "anything", "us-east-1"), store, true); err != nil || account != want {
			t.Errorf("dev mode, key %s: %q, %v; want account %s", akid, account, err, want)
		}
	}
	// The region is checked in dev mode too.
	_, err := verify(signedNow(t, "444455556666", "anything", "eu-west-1"), store, true)
	wantCode(t, err, "AuthFailure")
}
