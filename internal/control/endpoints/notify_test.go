package endpoints

import (
	"context"
	"slices"
	"testing"

	"strait/internal/control/controltest"
	"strait/internal/control/core"
	"strait/internal/model"
)

// outbox reads the connection events recorded for delivery, in order.
func outbox(t *testing.T, f fixture) []model.NotificationEvent {
	t.Helper()
	return controltest.Must(core.List[model.NotificationEvent](context.Background(), f.Base.Store(), model.KindNotificationEvent))(t)
}

// A notification of a service records, with each connection change it asked
// for, one event to deliver to its topic; events it did not ask for are not
// recorded.
func TestConnectionNotifications(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	svc := f.service(t, CreateServiceInput{})
	f.admit(t, svc, "*")
	topic := "arn:aws:sns:us-east-1:" + provider + ":conns"
	n, err := f.pl.CreateConnectionNotification(ctx, provider, CreateNotificationInput{ServiceID: svc.ID, ARN: topic,
		Events: []string{model.EventConnect, model.EventAccept, model.EventConnect}})
	if err != nil {
		t.Fatal(err)
	}
	if !model.ValidID(model.PrefixNotification, n.ID) || n.State != "Enabled" || !slices.Equal(n.Events, []string{"Connect", "Accept"}) || n.ARN != topic {
		t.Fatalf("notification %+v", n)
	}
	vpc, subnets := f.consumerVPC(t, consumer)
	ep := f.endpoint(t, consumer, vpc, svc, subnets[0])
	noItemErrors(t, "accepting", controltest.Must(f.pl.AcceptEndpointConnections(ctx, provider, svc.ID, []string{ep.ID}))(t), nil)
	noItemErrors(t, "rejecting", controltest.Must(f.pl.RejectEndpointConnections(ctx, provider, svc.ID, []string{ep.ID}))(t), nil)
	evs := outbox(t, f)
	if len(evs) != 2 || evs[0].Event != model.EventConnect || evs[1].Event != model.EventAccept || evs[0].ID >= evs[1].ID {
		t.Fatalf("outbox %+v, want Connect then Accept (Reject was not asked for)", evs)
	}
	e := evs[0]
	if e.EndpointID != ep.ID || e.EndpointOwner != consumer || e.EndpointState != model.EndpointPendingAcceptance || e.ServiceID != svc.ID ||
		e.ServiceOwner != provider || e.EndpointConnectionID != ep.ConnectionID || len(e.Deliveries) != 1 ||
		e.Deliveries[0].NotificationID != n.ID || e.Deliveries[0].TopicARN != topic || e.Deliveries[0].MessageID == "" {
		t.Fatalf("the Connect event %+v", e)
	}
	if evs[1].EndpointState != model.EndpointPending {
		t.Fatalf("the Accept event has state %s", evs[1].EndpointState)
	}

	// Modify replaces the events; the rejection of another endpoint is now recorded.
	if err := f.pl.ModifyConnectionNotification(ctx, provider, n.ID, "", []string{model.EventReject}); err != nil {
		t.Fatal(err)
	}
	got := controltest.Must(f.pl.ConnectionNotifications(ctx, provider))(t)
	if len(got) != 1 || !slices.Equal(got[0].Events, []string{"Reject"}) || got[0].ARN != topic {
		t.Fatalf("after the modification: %+v", got)
	}
	ep2 := f.endpoint(t, consumer, vpc, svc, subnets[1])
	noItemErrors(t, "rejecting", controltest.Must(f.pl.RejectEndpointConnections(ctx, provider, svc.ID, []string{ep2.ID}))(t), nil)
	if evs := outbox(t, f); len(evs) != 3 || evs[2].Event != model.EventReject || evs[2].EndpointID != ep2.ID {
		t.Fatalf("outbox after the modification %+v", evs)
	}
	err = f.pl.ModifyConnectionNotification(ctx, provider, n.ID, "", []string{"Expire"})
	controltest.WantError(t, "an unknown event", err, model.ErrInvalid, "", model.ReasonParameter)
	err = f.pl.ModifyConnectionNotification(ctx, consumer, n.ID, topic, nil)
	controltest.WantError(t, "another account's notification", err, model.ErrNotFound, model.KindNotification, model.ReasonNotificationNotFound)

	noItemErrors(t, "deleting", controltest.Must(f.pl.DeleteConnectionNotifications(ctx, provider, []string{n.ID}))(t), nil)
	failed, err := f.pl.DeleteConnectionNotifications(ctx, provider, []string{n.ID})
	itemError(t, "deleting again", failed, err, n.ID, model.ErrNotFound, model.KindNotification, model.ReasonNotificationNotFound)
	if got := controltest.Must(f.pl.ConnectionNotifications(ctx, provider))(t); len(got) != 0 {
		t.Fatalf("after the deletion: %+v", got)
	}
}

// A notification names exactly one service or endpoint of its account, an SNS
// topic of this region and known events.
func TestCreateConnectionNotificationRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	svc, vpc, subnets := f.open(t)
	ep := f.endpoint(t, consumer, vpc, svc, subnets[0])
	topic := "arn:aws:sns:us-east-1:" + provider + ":conns"
	for _, bad := range []struct {
		what   string
		acct   string
		in     CreateNotificationInput
		err    error
		kind   string
		reason model.Reason
	}{
		{"neither service nor endpoint", provider, CreateNotificationInput{ARN: topic, Events: []string{"Connect"}}, model.ErrMissing, "", ""},
		{"both", consumer, CreateNotificationInput{ServiceID: svc.ID, EndpointID: ep.ID, ARN: topic, Events: []string{"Connect"}}, model.ErrInvalid, "", model.ReasonParameterCombination},
		{"another account's service", consumer, CreateNotificationInput{ServiceID: svc.ID, ARN: topic, Events: []string{"Connect"}}, model.ErrNotFound, model.KindService, ""},
		{"another account's endpoint", provider, CreateNotificationInput{EndpointID: ep.ID, ARN: topic, Events: []string{"Connect"}}, model.ErrNotFound, model.KindEndpoint, ""},
		{"not a topic", provider, CreateNotificationInput{ServiceID: svc.ID, ARN: "arn:aws:sqs:us-east-1:" + provider + ":q", Events: []string{"Connect"}}, model.ErrInvalid, "", model.ReasonParameter},
		{"a topic of another region", provider, CreateNotificationInput{ServiceID: svc.ID, ARN: "arn:aws:sns:eu-west-1:" + provider + ":t", Events: []string{"Connect"}}, model.ErrInvalid, "", model.ReasonParameter},
		{"no events", provider, CreateNotificationInput{ServiceID: svc.ID, ARN: topic}, model.ErrMissing, "", ""},
		{"an unknown event", provider, CreateNotificationInput{ServiceID: svc.ID, ARN: topic, Events: []string{"connect"}}, model.ErrInvalid, "", model.ReasonParameter},
	} {
		_, err := f.pl.CreateConnectionNotification(ctx, bad.acct, bad.in)
		controltest.WantError(t, bad.what, err, bad.err, bad.kind, bad.reason)
	}
	// The consumer may watch its own endpoint.
	n := controltest.Must(f.pl.CreateConnectionNotification(ctx, consumer, CreateNotificationInput{EndpointID: ep.ID,
		ARN: "arn:aws:sns:us-east-1:" + consumer + ":mine", Events: []string{"Delete"}}))(t)
	noItemErrors(t, "deleting the endpoint", controltest.Must(f.pl.DeleteEndpoints(ctx, consumer, []string{ep.ID}))(t), nil)
	evs := outbox(t, f)
	if len(evs) != 1 || evs[0].Event != model.EventDelete || evs[0].Deliveries[0].NotificationID != n.ID || evs[0].EndpointState != model.EndpointDeleting {
		t.Fatalf("outbox %+v, want the endpoint's Delete event", evs)
	}
}
