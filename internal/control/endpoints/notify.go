package endpoints

import (
	"context"
	"fmt"
	"regexp"
	"slices"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// Connection notification events.
var connectionEvents = []string{"Accept", "Connect", "Delete", "Reject"}

var snsTopicARN = regexp.MustCompile(`^arn:aws:sns:([a-z0-9-]+):([0-9]{12}):([A-Za-z0-9_-]{1,256})$`)

// CreateNotificationInput is what CreateConnectionNotification needs: exactly one
// of ServiceID (one of the account's services) and EndpointID (one of its
// endpoints), an SNS topic ARN and the events to announce.
type CreateNotificationInput struct {
	ServiceID   string
	EndpointID  string
	ARN         string
	Events      []string
	ClientToken string
}

// CreateConnectionNotification records where to announce connection events of a
// service or an endpoint. Each event is recorded with the endpoint's change and
// delivered by DeliverNotifications as one JSON line per message in a file per SNS
// topic (see docs/notifications.md).
func (c *PrivateLink) CreateConnectionNotification(ctx context.Context, acct string, in CreateNotificationInput) (model.ConnectionNotification, error) {
	tok, prev, found, err := core.Idempotent[model.ConnectionNotification](ctx, c.Base, acct, model.KindNotification, in.ClientToken, in)
	if err != nil || found {
		return prev, err
	}
	switch {
	case in.ServiceID == "" && in.EndpointID == "":
		return model.ConnectionNotification{}, model.Missing("ServiceId or VpcEndpointId")
	case in.ServiceID != "" && in.EndpointID != "":
		return model.ConnectionNotification{}, model.WithReason(model.ErrInvalid, model.ReasonParameterCombination, "Specify either ServiceId or VpcEndpointId, not both")
	case in.ServiceID != "":
		if _, err := c.EndpointService(ctx, acct, in.ServiceID); err != nil {
			return model.ConnectionNotification{}, err
		}
	default:
		if _, err := c.ownEndpoint(ctx, acct, in.EndpointID); err != nil {
			return model.ConnectionNotification{}, err
		}
	}
	events, err := c.checkNotification(in.ARN, in.Events)
	if err != nil {
		return model.ConnectionNotification{}, err
	}
	n := model.ConnectionNotification{
		ID: model.NewID(model.PrefixNotification), Owner: acct, ServiceID: in.ServiceID, EndpointID: in.EndpointID,
		ARN: in.ARN, Events: events, State: "Enabled", Created: c.Now().UTC(),
	}
	err = c.Update(ctx, func(tx *store.Tx) error {
		if found, err := core.TxPrevious(tx, tok, &n); err != nil || found {
			return err
		}
		if in.ServiceID != "" && !tx.Exists(core.Key(model.KindService, in.ServiceID)) {
			return model.NotFound(model.KindService, in.ServiceID)
		}
		if in.EndpointID != "" && !tx.Exists(core.Key(model.KindEndpoint, in.EndpointID)) {
			return model.NotFound(model.KindEndpoint, in.EndpointID)
		}
		if err := tok.Record(tx, n.ID); err != nil {
			return err
		}
		return tx.Put(core.Key(model.KindNotification, n.ID), n)
	})
	return n, err
}

// checkNotification validates a topic ARN (in this region) and a list of events,
// returning the distinct events.
func (c *PrivateLink) checkNotification(arn string, events []string) ([]string, error) {
	m := snsTopicARN.FindStringSubmatch(arn)
	if m == nil {
		return nil, invalidParameter("The connection notification ARN '%s' is not a valid SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)", arn)
	}
	if m[1] != c.Region() {
		return nil, invalidParameter("The SNS topic %s must be in the region %s", arn, c.Region())
	}
	events = core.Dedupe(events)
	if len(events) == 0 {
		return nil, model.Missing("ConnectionEvents")
	}
	for _, e := range events {
		if !slices.Contains(connectionEvents, e) {
			return nil, invalidParameter("Connection event '%s' is not valid; valid events are Accept, Connect, Delete and Reject", e)
		}
	}
	return events, nil
}

// ConnectionNotifications lists the account's connection notifications.
func (c *PrivateLink) ConnectionNotifications(ctx context.Context, acct string) ([]model.ConnectionNotification, error) {
	all, err := core.List[model.ConnectionNotification](ctx, c.Store(), model.KindNotification)
	return core.FilterOwner(all, acct, func(n model.ConnectionNotification) string { return n.Owner }), err
}

func notificationNotFound(id string) *model.Error {
	return &model.Error{Err: model.ErrNotFound, Kind: model.KindNotification, ID: id, Reason: model.ReasonNotificationNotFound,
		Msg: fmt.Sprintf("The connection notification '%s' does not exist", id)}
}

// ModifyConnectionNotification replaces a notification's topic and/or events
// (empty leaves one alone).
func (c *PrivateLink) ModifyConnectionNotification(ctx context.Context, acct, id, arn string, events []string) error {
	return c.Update(ctx, func(tx *store.Tx) error {
		n, err := core.TxGet[model.ConnectionNotification](tx, model.KindNotification, id)
		if err != nil || n.Owner != acct {
			return notificationNotFound(id)
		}
		if arn == "" {
			arn = n.ARN
		}
		if len(events) == 0 {
			events = n.Events
		}
		if n.Events, err = c.checkNotification(arn, events); err != nil {
			return err
		}
		n.ARN = arn
		return tx.Put(core.Key(model.KindNotification, id), n)
	})
}

// DeleteConnectionNotifications deletes notifications of the account; unknown IDs
// fail one by one.
func (c *PrivateLink) DeleteConnectionNotifications(ctx context.Context, acct string, ids []string) ([]core.ItemError, error) {
	return core.EachID(ids, func(id string) error {
		return c.Update(ctx, func(tx *store.Tx) error {
			n, err := core.TxGet[model.ConnectionNotification](tx, model.KindNotification, id)
			if err != nil || n.Owner != acct {
				return notificationNotFound(id)
			}
			tx.Delete(core.Key(model.KindNotification, id))
			return nil
		})
	})
}

// TopicARN splits an SNS topic ARN into its region, account and topic name; ok is
// false when arn is not one.
func TopicARN(arn string) (region, account, topic string, ok bool) {
	m := snsTopicARN.FindStringSubmatch(arn)
	if m == nil {
		return "", "", "", false
	}
	return m[1], m[2], m[3], true
}
