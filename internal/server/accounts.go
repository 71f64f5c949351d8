package server

import (
	"context"
	"time"

	"strait/internal/control"
)

// AccountCreated is the answer to an account or access key creation.
type AccountCreated struct {
	AccountID       string `json:"account_id"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
}

// AccountInfo is an account and the IDs of its access keys (never their secrets).
type AccountInfo struct {
	AccountID    string    `json:"account_id"`
	Created      time.Time `json:"created"`
	AccessKeyIDs []string  `json:"access_key_ids"`
}

// CreateAccount creates an account and its first access key.
func CreateAccount(ctx context.Context, ctl *control.Control, id string) (AccountCreated, error) {
	acct, key, err := ctl.CreateAccount(ctx, id)
	if err != nil {
		return AccountCreated{}, err
	}
	return AccountCreated{AccountID: acct.ID, AccessKeyID: key.ID, SecretAccessKey: key.Secret}, nil
}

// CreateAccessKey issues another access key for an existing account.
func CreateAccessKey(ctx context.Context, ctl *control.Control, acct string) (AccountCreated, error) {
	key, err := ctl.CreateAccessKey(ctx, acct)
	if err != nil {
		return AccountCreated{}, err
	}
	return AccountCreated{AccountID: key.Account, AccessKeyID: key.ID, SecretAccessKey: key.Secret}, nil
}

// ListAccounts lists every account with its access key IDs, oldest key first.
func ListAccounts(ctx context.Context, ctl *control.Control) ([]AccountInfo, error) {
	accts, err := ctl.Accounts.Accounts(ctx) // the field Accounts hides its method
	if err != nil {
		return nil, err
	}
	keys, err := ctl.AccessKeys(ctx)
	if err != nil {
		return nil, err
	}
	byAccount := map[string][]string{}
	for _, k := range keys {
		byAccount[k.Account] = append(byAccount[k.Account], k.ID)
	}
	out := []AccountInfo{}
	for _, a := range accts {
		ids := byAccount[a.ID]
		if ids == nil {
			ids = []string{}
		}
		out = append(out, AccountInfo{AccountID: a.ID, Created: a.Created, AccessKeyIDs: ids})
	}
	return out, nil
}
