package endpoints

import (
	"context"
	"errors"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// EndpointTraffic returns the traffic counted through an endpoint; ok is false
// when no data plane has reported any.
func (c *PrivateLink) EndpointTraffic(ctx context.Context, id string) (t model.EndpointTraffic, ok bool, err error) {
	err = c.Store().Get(ctx, core.Key(model.KindEndpointTraffic, id), &t)
	if errors.Is(err, store.ErrNotFound) {
		return t, false, nil
	}
	return t, err == nil, err
}
