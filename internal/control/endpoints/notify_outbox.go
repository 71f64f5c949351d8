package endpoints

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// outboxClock makes outbox IDs strictly increasing within this process even when
// the wall clock stalls or steps back: each ID's time is after the last one's.
var outboxClock atomic.Int64

// NewOutboxID returns a time-ordered outbox ID: 19 digits of nanoseconds since
// the epoch, then random hex so that two servers never collide.
func NewOutboxID() string {
	now := time.Now().UnixNano()
	for {
		last := outboxClock.Load()
		next := max(now, last+1)
		if outboxClock.CompareAndSwap(last, next) {
			return fmt.Sprintf("%019d-%s", next, model.RandomHex(8))
		}
	}
}

// NewMessageID returns a random (version 4) UUID, the form of SNS message IDs.
func NewMessageID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("control: reading random bytes: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// recordConnectionEvent writes, inside tx, the outbox record of an endpoint
// connection event (Connect, Accept, Reject or Delete) for every enabled
// notification of the endpoint's service or of the endpoint itself that asked
// for it. ep is the endpoint as the event leaves it. Nothing is written when no
// notification wants the event. Each notification is re-read inside tx, so a
// concurrent change to it makes the transaction retry.
func (c *PrivateLink) recordConnectionEvent(ctx context.Context, tx *store.Tx, ep model.Endpoint, event string) error {
	nfns, err := core.List[model.ConnectionNotification](ctx, c.Store(), model.KindNotification)
	if err != nil {
		return err
	}
	ev := model.NotificationEvent{
		ID: NewOutboxID(), Event: event, Time: c.Now().UTC(),
		EndpointID: ep.ID, EndpointOwner: ep.Owner, EndpointState: ep.State, EndpointConnectionID: ep.ConnectionID,
		ServiceID: ep.ServiceID, ServiceOwner: ep.ServiceOwner,
	}
	for _, seen := range nfns {
		if (seen.ServiceID == "" || seen.ServiceID != ep.ServiceID) && (seen.EndpointID == "" || seen.EndpointID != ep.ID) {
			continue
		}
		n, err := core.TxGet[model.ConnectionNotification](tx, model.KindNotification, seen.ID)
		if err != nil {
			continue // deleted since the listing
		}
		if n.State != "Enabled" || !slices.Contains(n.Events, event) {
			continue
		}
		ev.Deliveries = append(ev.Deliveries, model.NotificationDelivery{NotificationID: n.ID, TopicARN: n.ARN, MessageID: NewMessageID()})
	}
	if len(ev.Deliveries) == 0 {
		return nil
	}
	return tx.Put(core.Key(model.KindNotificationEvent, ev.ID), ev)
}
