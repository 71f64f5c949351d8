package sigv4

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"time"

	"strait/internal/model"
)

// Accounts resolves access keys to accounts and secrets.
type Accounts interface {
	AccessKey(ctx context.Context, id string) (model.AccessKey, bool, error)
}

// VerifyAccount checks a request's signature with the key store and returns the
// caller's account. cred is the request's parsed credential (ParseCredential);
// region is the region the server answers for. In dev mode any secret is accepted:
// a 12-digit access key ID is that account, any other unknown key is account
// 000000000000. Failures are *Error, a region mismatch with code AuthFailure.
func VerifyAccount(ctx context.Context, r *http.Request, body []byte, cred Credential, accounts Accounts, region string, dev bool) (string, error) {
	if cred.Region != region {
		return "", &Error{Code: "AuthFailure", Message: fmt.Sprintf("This Strait server serves region %s; the request was signed for region %s (set the region on the client, or --region on the server)", region, cred.Region)}
	}
	var account string
	lookup := func(id string) (string, bool) {
		k, ok, err := accounts.AccessKey(ctx, id)
		if err != nil || !ok {
			return "", false
		}
		account = k.Account
		return k.Secret, true
	}
	if _, err := Verify(r, body, lookup, time.Now(), dev); err != nil {
		return "", err
	}
	if dev && account == "" {
		account = DevAccount(cred.AccessKeyID)
	}
	return account, nil
}

// DevAccount is the account of an access key in dev mode: a 12-digit key ID is
// that account, any other key is account 000000000000.
func DevAccount(keyID string) string {
	if model.AccountPattern.MatchString(keyID) {
		return keyID
	}
	return "000000000000"
}

// ErrBadKey is KeyAccount's answer for an unknown access key or a wrong secret
// (which of the two is not told).
var ErrBadKey = errors.New("the access key ID or the secret access key is not valid")

// KeyAccount checks an access key ID and its secret access key, given in full
// (the console's sign-in), against the same key store as request signatures,
// and returns the key's account. In dev mode any secret is accepted, as for
// signatures (see DevAccount).
func KeyAccount(ctx context.Context, accounts Accounts, keyID, secret string, dev bool) (string, error) {
	if dev {
		return DevAccount(keyID), nil
	}
	k, ok, err := accounts.AccessKey(ctx, keyID)
	if err != nil {
		return "", err
	}
	if !ok || subtle.ConstantTimeCompare([]byte(k.Secret), []byte(secret)) != 1 {
		return "", ErrBadKey
	}
	return k.Account, nil
}
