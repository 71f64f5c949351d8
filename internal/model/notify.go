package model

import "time"

// KindNotificationEvent is the outbox of connection notifications: one record
// per endpoint connection event that has recipients, under
// "notifyevent/<time-ordered ID>", written in the transaction that changes the
// endpoint and deleted once its messages are delivered.
const KindNotificationEvent = "notifyevent"

// Connection events, as CreateVpcEndpointConnectionNotification names them.
const (
	EventConnect = "Connect"
	EventAccept  = "Accept"
	EventReject  = "Reject"
	EventDelete  = "Delete"
)

// NotificationEvent is one endpoint connection event waiting to be delivered to
// the connection notifications that asked for it.
type NotificationEvent struct {
	ID    string    `json:"id"`    // time-ordered: the outbox is read in key order
	Event string    `json:"event"` // Connect, Accept, Reject or Delete
	Time  time.Time `json:"time"`
	// The endpoint as the event left it.
	EndpointID    string `json:"endpointId"`
	EndpointOwner string `json:"endpointOwner"`
	EndpointState string `json:"endpointState"`
	// EndpointConnectionID is the vpce-con-… ID the service owner sees.
	EndpointConnectionID string `json:"endpointConnectionId,omitempty"`
	ServiceID            string `json:"serviceId"`
	ServiceOwner         string `json:"serviceOwner"`
	// Deliveries are the messages to write, one per matching notification,
	// resolved when the event happened.
	Deliveries []NotificationDelivery `json:"deliveries"`
	// DeliveringBy names the leadership term (store.Fence) that began writing
	// the messages, when replicas share the store: no other term writes them
	// again.
	DeliveringBy string `json:"deliveringBy,omitempty"`
}

// NotificationDelivery is one message of a NotificationEvent: the notification
// it answers, its SNS topic and the message ID, fixed when the event is recorded
// so that a message written again after a crash keeps its ID.
type NotificationDelivery struct {
	NotificationID string `json:"notificationId"`
	TopicARN       string `json:"topicArn"`
	MessageID      string `json:"messageId"`
}
