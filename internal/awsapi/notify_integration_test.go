package awsapi_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"strait/internal/model"
	"strait/internal/reconcile/status"
	"strait/internal/testenv"
)

// snsLine is one delivered message: the SNS notification envelope.
type snsLine struct {
	Type, MessageId, TopicArn, Subject, Message, Timestamp string
}

// connectionMessage is the Message inside the envelope.
type connectionMessage struct {
	EventType                 string `json:"eventType"`
	ConnectionNotificationID  string `json:"connectionNotificationId"`
	ConnectionNotificationArn string `json:"connectionNotificationArn"`
	ServiceID                 string `json:"serviceId"`
	ServiceRegion             string `json:"serviceRegion"`
	VpcEndpointID             string `json:"vpcEndpointId"`
	VpcEndpointOwner          string `json:"vpcEndpointOwner"`
	VpcEndpointState          string `json:"vpcEndpointState"`
	VpcEndpointConnectionID   string `json:"vpcEndpointConnectionId"`
}

func readJSONL(t *testing.T, path string) ([]snsLine, []connectionMessage) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []snsLine
	var msgs []connectionMessage
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l snsLine
		var m connectionMessage
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: line %q: %v", path, sc.Text(), err)
		}
		if err := json.Unmarshal([]byte(l.Message), &m); err != nil {
			t.Fatalf("%s: Message %q: %v", path, l.Message, err)
		}
		lines, msgs = append(lines, l), append(msgs, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines, msgs
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestConnectionNotificationDelivery drives connection events with the SDK and
// checks what DeliverNotifications writes: the events each notification asked
// for, in order, in the SNS envelope, once.
func TestConnectionNotificationDelivery(t *testing.T) {
	env := testenv.Start(t)
	ctx := testenv.Ctx(t)
	svc := plProvider(t, env, nil, "") // acceptance required
	plAllow(t, env, provider, *svc.ServiceId, "arn:aws:iam::"+consumer+":root")
	p, c := env.EC2(provider), env.EC2(consumer)
	notify := func(client *ec2.Client, in *ec2.CreateVpcEndpointConnectionNotificationInput) string {
		t.Helper()
		out, err := client.CreateVpcEndpointConnectionNotification(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return *out.ConnectionNotification.ConnectionNotificationId
	}
	allTopic := "arn:aws:sns:us-east-1:" + provider + ":endpoint-events"
	acceptTopic := "arn:aws:sns:us-east-1:" + provider + ":accepts-only"
	epTopic := "arn:aws:sns:us-east-1:" + consumer + ":my-endpoint"
	allID := notify(p, &ec2.CreateVpcEndpointConnectionNotificationInput{ServiceId: svc.ServiceId,
		ConnectionNotificationArn: aws.String(allTopic), ConnectionEvents: []string{"Connect", "Accept", "Reject", "Delete"}})
	acceptID := notify(p, &ec2.CreateVpcEndpointConnectionNotificationInput{ServiceId: svc.ServiceId,
		ConnectionNotificationArn: aws.String(acceptTopic), ConnectionEvents: []string{"Accept"}})

	net := plNetwork(t, env, consumer, "us-east-1a", "us-east-1b")
	a := plEndpoint(t, env, consumer, net, *svc.ServiceName, nil, "us-east-1a") // Connect
	epID := notify(c, &ec2.CreateVpcEndpointConnectionNotificationInput{VpcEndpointId: a.VpcEndpointId,
		ConnectionNotificationArn: aws.String(epTopic), ConnectionEvents: []string{"Accept", "Delete"}})
	if _, err := p.AcceptVpcEndpointConnections(ctx, &ec2.AcceptVpcEndpointConnectionsInput{ServiceId: svc.ServiceId, VpcEndpointIds: []string{*a.VpcEndpointId}}); err != nil {
		t.Fatal(err)
	}
	plWaitEndpoint(t, env, consumer, *a.VpcEndpointId, "available")
	b := plEndpoint(t, env, consumer, net, *svc.ServiceName, nil, "us-east-1b") // Connect
	// Rejecting a rejected endpoint changes nothing: one Reject.
	for range 2 {
		if _, err := p.RejectVpcEndpointConnections(ctx, &ec2.RejectVpcEndpointConnectionsInput{ServiceId: svc.ServiceId, VpcEndpointIds: []string{*b.VpcEndpointId}}); err != nil {
			t.Fatal(err)
		}
	}
	// A failed accept is no event.
	if out, err := p.AcceptVpcEndpointConnections(ctx, &ec2.AcceptVpcEndpointConnectionsInput{ServiceId: svc.ServiceId, VpcEndpointIds: []string{*b.VpcEndpointId}}); err != nil || len(out.Unsuccessful) != 1 {
		t.Fatalf("accepting a rejected endpoint: %v %+v", err, out)
	}
	if _, err := c.DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{*a.VpcEndpointId}}); err != nil {
		t.Fatal(err)
	}
	plWaitEndpoint(t, env, consumer, *a.VpcEndpointId, "") // gone, with its notification

	// The reconciler delivers to <data-dir>/notifications: use the same directory,
	// so that whichever call delivers first, the files are the same.
	dir := filepath.Join(env.DataDir, "notifications")
	ctl := env.Server.Control()
	if err := status.New(ctl).DeliverNotifications(ctx, dir); err != nil {
		t.Fatal(err)
	}

	type want struct{ event, endpoint, state string }
	check := func(acct, topicName, topicARN, nfnID string, wants []want) []snsLine {
		t.Helper()
		path := filepath.Join(dir, acct, topicName+".jsonl")
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, mode %v, want 0600", path, err, st.Mode())
		}
		if st, err := os.Stat(filepath.Dir(path)); err != nil || st.Mode().Perm() != 0o700 {
			t.Fatalf("%s: %v, mode %v, want 0700", filepath.Dir(path), err, st.Mode())
		}
		lines, msgs := readJSONL(t, path)
		if len(lines) != len(wants) {
			t.Fatalf("%s: %d messages, want %d: %+v", path, len(msgs), len(wants), msgs)
		}
		for i, w := range wants {
			l, m := lines[i], msgs[i]
			if l.Type != "Notification" || l.TopicArn != topicARN || !uuidPattern.MatchString(l.MessageId) || l.Subject == "" {
				t.Errorf("%s line %d: envelope %+v", path, i, l)
			}
			if ts, err := time.Parse("2006-01-02T15:04:05.000Z", l.Timestamp); err != nil || time.Since(ts) > time.Minute || time.Since(ts) < 0 {
				t.Errorf("%s line %d: Timestamp %q: %v", path, i, l.Timestamp, err)
			}
			if m.EventType != w.event || m.VpcEndpointID != w.endpoint || m.VpcEndpointState != w.state {
				t.Errorf("%s line %d: %s %s %s, want %s %s %s", path, i, m.EventType, m.VpcEndpointID, m.VpcEndpointState, w.event, w.endpoint, w.state)
			}
			if m.ConnectionNotificationID != nfnID || m.ConnectionNotificationArn != topicARN || m.ServiceID != *svc.ServiceId ||
				m.ServiceRegion != testenv.Region || m.VpcEndpointOwner != consumer || !strings.HasPrefix(m.VpcEndpointConnectionID, "vpce-con-") {
				t.Errorf("%s line %d: message %+v", path, i, m)
			}
		}
		return lines
	}
	A, B := *a.VpcEndpointId, *b.VpcEndpointId
	all := check(provider, "endpoint-events", allTopic, allID, []want{
		{"Connect", A, "pendingAcceptance"}, {"Accept", A, "pending"}, {"Connect", B, "pendingAcceptance"},
		{"Reject", B, "rejected"}, {"Delete", A, "deleting"},
	})
	check(provider, "accepts-only", acceptTopic, acceptID, []want{{"Accept", A, "pending"}})
	mine := check(consumer, "my-endpoint", epTopic, epID, []want{{"Accept", A, "pending"}, {"Delete", A, "deleting"}})
	seen := map[string]bool{}
	for _, l := range append(all, mine...) {
		if seen[l.MessageId] {
			t.Errorf("MessageId %s used twice", l.MessageId)
		}
		seen[l.MessageId] = true
	}

	// Delivered records leave the outbox; a second call writes nothing.
	outbox := 0
	if err := ctl.Store().List(ctx, model.KindNotificationEvent+"/", func(string, []byte) error { outbox++; return nil }); err != nil {
		t.Fatal(err)
	}
	if outbox != 0 {
		t.Errorf("%d outbox records left after delivery", outbox)
	}
	before := snapshot(t, dir)
	if err := status.New(ctl).DeliverNotifications(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, dir); after != before {
		t.Errorf("a second delivery changed the files:\n%s\nthen\n%s", before, after)
	}

	// An event after delivery is appended after the earlier lines.
	c2 := plEndpoint(t, env, consumer, net, *svc.ServiceName, nil, "us-east-1a")
	if err := status.New(ctl).DeliverNotifications(ctx, dir); err != nil {
		t.Fatal(err)
	}
	check(provider, "endpoint-events", allTopic, allID, []want{
		{"Connect", A, "pendingAcceptance"}, {"Accept", A, "pending"}, {"Connect", B, "pendingAcceptance"},
		{"Reject", B, "rejected"}, {"Delete", A, "deleting"}, {"Connect", *c2.VpcEndpointId, "pendingAcceptance"},
	})
}

// snapshot is every file under dir with its contents.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		b.WriteString(path + "\n" + string(data))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
