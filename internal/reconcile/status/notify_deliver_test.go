package status

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"strait/internal/control"
	"strait/internal/control/endpoints"
	"strait/internal/model"
)

func testEvent() model.NotificationEvent {
	return model.NotificationEvent{
		ID: endpoints.NewOutboxID(), Event: model.EventAccept, Time: time.Date(2026, 3, 1, 12, 0, 0, 123e6, time.UTC),
		EndpointID: "vpce-0123456789abcdef0", EndpointOwner: "222222222222", EndpointState: model.EndpointPending,
		EndpointConnectionID: "vpce-con-0123456789abcdef0", ServiceID: "vpce-svc-0123456789abcdef0", ServiceOwner: "111111111111",
		Deliveries: []model.NotificationDelivery{
			{NotificationID: "vpce-nfn-0123456789abcdef0", TopicARN: "arn:aws:sns:us-east-1:111111111111:events", MessageID: endpoints.NewMessageID()},
			{NotificationID: "vpce-nfn-0123456789abcdef1", TopicARN: "arn:aws:sns:us-east-1:111111111111:events", MessageID: endpoints.NewMessageID()},
			{NotificationID: "vpce-nfn-0123456789abcdef2", TopicARN: "arn:aws:sns:us-east-1:222222222222:mine", MessageID: endpoints.NewMessageID()},
			{NotificationID: "vpce-nfn-0123456789abcdef3", TopicARN: "not-an-arn", MessageID: endpoints.NewMessageID()},
		},
	}
}

func testStatus() *Status {
	return New(control.New(nil, control.Config{Region: "us-east-1"}))
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("%s does not end with a newline", path)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func TestDeliverEventFormat(t *testing.T) {
	c, dir, ev := testStatus(), t.TempDir(), testEvent()
	if err := c.deliverEvent(dir, ev); err != nil {
		t.Fatal(err)
	}
	got := lines(t, filepath.Join(dir, "111111111111", "events.jsonl"))
	if len(got) != 2 {
		t.Fatalf("%d lines: %q", len(got), got)
	}
	var env map[string]string
	if err := json.Unmarshal([]byte(got[0]), &env); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Type": "Notification", "MessageId": ev.Deliveries[0].MessageID, "TopicArn": ev.Deliveries[0].TopicARN,
		"Subject": NotificationSubject, "Timestamp": "2026-03-01T12:00:00.123Z",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	var msg map[string]string
	if err := json.Unmarshal([]byte(env["Message"]), &msg); err != nil {
		t.Fatal(err)
	}
	wantMsg := map[string]string{
		"eventType": "Accept", "connectionNotificationId": "vpce-nfn-0123456789abcdef0",
		"connectionNotificationArn": "arn:aws:sns:us-east-1:111111111111:events", "serviceId": "vpce-svc-0123456789abcdef0",
		"serviceRegion": "us-east-1", "vpcEndpointId": "vpce-0123456789abcdef0", "vpcEndpointOwner": "222222222222",
		"vpcEndpointState": "pending", "vpcEndpointConnectionId": "vpce-con-0123456789abcdef0",
	}
	if len(msg) != len(wantMsg) {
		t.Errorf("message fields %v", msg)
	}
	for k, v := range wantMsg {
		if msg[k] != v {
			t.Errorf("Message.%s = %q, want %q", k, msg[k], v)
		}
	}
	if mine := lines(t, filepath.Join(dir, "222222222222", "mine.jsonl")); len(mine) != 1 {
		t.Errorf("mine.jsonl: %q", mine)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("the invalid ARN wrote somewhere: %v", entries)
	}
}

// A crash after writing (some of) an event's lines but before its outbox record
// was deleted: the next delivery neither repeats the lines written nor keeps a
// line cut short.
func TestDeliverEventAfterCrash(t *testing.T) {
	c, dir, ev := testStatus(), t.TempDir(), testEvent()
	// An earlier event, delivered in full.
	first := model.NotificationEvent{ID: endpoints.NewOutboxID(), Event: model.EventConnect, Time: ev.Time,
		Deliveries: []model.NotificationDelivery{{NotificationID: "vpce-nfn-0123456789abcdef0", TopicARN: ev.Deliveries[0].TopicARN, MessageID: endpoints.NewMessageID()}}}
	if err := c.deliverEvent(dir, first); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "111111111111", "events.jsonl")
	// The event's first line was written whole, the second cut short.
	line0, err := c.notificationLine(ev, ev.Deliveries[0])
	if err != nil {
		t.Fatal(err)
	}
	line1, _ := c.notificationLine(ev, ev.Deliveries[1])
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(line0)
	f.Write(line1[:len(line1)/2])
	f.Close()

	if err := c.deliverEvent(dir, ev); err != nil {
		t.Fatal(err)
	}
	if err := c.deliverEvent(dir, ev); err != nil { // and once more: nothing new
		t.Fatal(err)
	}
	got := lines(t, path)
	if len(got) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(got), strings.Join(got, "\n"))
	}
	for i, id := range []string{first.Deliveries[0].MessageID, ev.Deliveries[0].MessageID, ev.Deliveries[1].MessageID} {
		var env struct{ MessageId string }
		if err := json.Unmarshal([]byte(got[i]), &env); err != nil || env.MessageId != id {
			t.Errorf("line %d: %v %q, want MessageId %s", i, err, got[i], id)
		}
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v", st.Mode())
	}
	if st, _ := os.Stat(filepath.Dir(path)); st.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v", st.Mode())
	}
}

func TestOutboxIDsAreOrdered(t *testing.T) {
	prev := endpoints.NewOutboxID()
	for range 10000 {
		id := endpoints.NewOutboxID()
		if id <= prev {
			t.Fatalf("%s after %s", id, prev)
		}
		prev = id
	}
}

func TestTopicFileName(t *testing.T) {
	if got := topicFileName("events"); got != "events.jsonl" {
		t.Errorf("events: %s", got)
	}
	long, other := strings.Repeat("a", 256), strings.Repeat("a", 255)+"b"
	a, b := topicFileName(long), topicFileName(other)
	if len(a) > 255 || a == b || !strings.HasSuffix(a, ".jsonl") {
		t.Errorf("long names: %s %s", a, b)
	}
}
