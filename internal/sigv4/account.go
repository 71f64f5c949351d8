package sigv4

import (
	"context"
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
		account = "000000000000"
		if model.AccountPattern.MatchString(cred.AccessKeyID) {
			account = cred.AccessKeyID
		}
	}
	return account, nil
}
