package endpoints

import (
	"context"
	"regexp"
	"slices"
	"strings"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

var (
	iamPrincipal     = regexp.MustCompile(`^arn:aws:iam::([0-9]{12}):(root|user/[\w+=,.@/-]{1,512}|role/[\w+=,.@/-]{1,512})$`)
	servicePrincipal = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*\.amazonaws\.com$`)
)

// PrincipalType classifies an allowed principal: "*" (All), an account root,
// user or role ARN, or a service principal (name.amazonaws.com). Anything else is
// an InvalidPrincipal error.
func PrincipalType(p string) (string, error) {
	if p == "*" {
		return model.PrincipalAll, nil
	}
	if m := iamPrincipal.FindStringSubmatch(p); m != nil {
		switch {
		case m[2] == "root":
			return model.PrincipalAccount, nil
		case strings.HasPrefix(m[2], "user/"):
			return model.PrincipalUser, nil
		default:
			return model.PrincipalRole, nil
		}
	}
	if servicePrincipal.MatchString(p) {
		return model.PrincipalService, nil
	}
	return "", &model.Error{Err: model.ErrInvalid, Kind: model.KindPermission, ID: p, Reason: model.ReasonPrincipal,
		Msg: "Invalid Principal: '" + p + "'"}
}

// principalAdmits reports whether an allowed principal admits callers of account
// acct. Callers authenticate with an account's access key and act as the account
// root; until IAM identities exist, a user or role ARN therefore admits its whole
// account. Service principals admit no account.
func principalAdmits(p, acct string) bool {
	if p == "*" {
		return true
	}
	m := iamPrincipal.FindStringSubmatch(p)
	return m != nil && m[1] == acct
}

// ServiceAdmits reports whether an account may see and connect to a service: the
// owner always may, others when an allowed principal admits them.
func ServiceAdmits(svc model.EndpointService, acct string) bool {
	if svc.Owner == acct {
		return true
	}
	for _, p := range svc.Principals {
		if principalAdmits(p.Principal, acct) {
			return true
		}
	}
	return false
}

// ModifyServicePermissions adds and removes allowed principals of a service and
// returns the permissions of the added ones. Adding a principal twice is a no-op;
// removing one that is not allowed is ignored. Live connections of removed
// principals stay up, as in AWS, unless the service has RejectRemovedPrincipals,
// in which case they are rejected in the same transaction.
func (c *PrivateLink) ModifyServicePermissions(ctx context.Context, acct, id string, add, remove []string) ([]model.Permission, error) {
	if _, err := c.EndpointService(ctx, acct, id); err != nil {
		return nil, err
	}
	for _, p := range append(slices.Clone(add), remove...) {
		if _, err := PrincipalType(p); err != nil {
			return nil, err
		}
	}
	var added []model.Permission
	err := c.Update(ctx, func(tx *store.Tx) error {
		added = nil
		svc, err := core.TxGet[model.EndpointService](tx, model.KindService, id)
		if err != nil {
			return err
		}
		for _, p := range core.Dedupe(add) {
			i := slices.IndexFunc(svc.Principals, func(x model.Permission) bool { return x.Principal == p })
			if i >= 0 {
				added = append(added, svc.Principals[i])
				continue
			}
			typ, _ := PrincipalType(p)
			perm := model.Permission{ID: model.NewID(model.PrefixPermission), Principal: p, Type: typ, Created: c.Now().UTC()}
			svc.Principals = append(svc.Principals, perm)
			added = append(added, perm)
		}
		svc.Principals = slices.DeleteFunc(svc.Principals, func(x model.Permission) bool { return slices.Contains(remove, x.Principal) })
		if len(remove) > 0 && svc.RejectRemovedPrincipals {
			if err := c.rejectUnadmitted(ctx, tx, svc); err != nil {
				return err
			}
		}
		return tx.Put(core.Key(model.KindService, id), svc)
	})
	return added, err
}

// rejectUnadmitted rejects, inside tx, the live connections of a service whose
// owners the service no longer admits.
func (c *PrivateLink) rejectUnadmitted(ctx context.Context, tx *store.Tx, svc model.EndpointService) error {
	eps, err := core.List[model.Endpoint](ctx, c.Store(), model.KindEndpoint)
	if err != nil {
		return err
	}
	for _, ep := range eps {
		if ep.ServiceID != svc.ID || ServiceAdmits(svc, ep.Owner) {
			continue
		}
		cur, err := core.TxGet[model.Endpoint](tx, model.KindEndpoint, ep.ID)
		if err != nil {
			continue
		}
		switch cur.State {
		case model.EndpointPendingAcceptance, model.EndpointPending, model.EndpointAvailable:
			cur.State = model.EndpointRejected
			cur.StateMessage = "rejected: the principal was removed from the service's allowed principals"
			if err := tx.Put(core.Key(model.KindEndpoint, cur.ID), cur); err != nil {
				return err
			}
			if err := c.recordConnectionEvent(ctx, tx, cur, model.EventReject); err != nil {
				return err
			}
		}
	}
	return nil
}
