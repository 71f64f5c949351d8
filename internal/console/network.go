package console

import (
	"context"
	"net/http"

	"strait/internal/model"
)

// The consumer's (and provider's) network, listed with copyable IDs.

// listPage renders the template tmpl with the account's resources as list returns them.
func listPage[T any](c *Console, tmpl, title, nav string, list func(ctx context.Context, acct string) ([]T, error)) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		items, err := list(r.Context(), s.Account)
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		c.render(w, r, http.StatusOK, tmpl, s, view{Title: title, Nav: nav, Data: items})
	}
}

// liveInstances lists the account's instances that are not terminated.
func (c *Console) liveInstances(ctx context.Context, acct string) ([]model.Instance, error) {
	insts, err := c.ctl.Instances(ctx, acct)
	live := insts[:0:0]
	for _, i := range insts {
		if i.State != model.InstanceTerminated {
			live = append(live, i)
		}
	}
	return live, err
}
