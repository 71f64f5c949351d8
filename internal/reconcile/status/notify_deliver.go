package status

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strait/internal/control/core"
	"strait/internal/control/endpoints"
	"strait/internal/model"
	"strait/internal/store"
	"strings"
	"sync"
)

// NotificationSubject is the Subject of every connection notification message.
const NotificationSubject = "VPC Endpoint Connection Notification"

// deliverMu serializes DeliverNotifications calls of this process (the leader
// alone runs the reconciler, so one process delivers at a time).
var deliverMu sync.Mutex

// DeliverNotifications delivers the recorded connection notification messages,
// oldest first: each message is appended as one JSON line (the SNS notification
// envelope, see docs/notifications.md) to <dir>/<account>/<topic>.jsonl, where
// account and topic come from the notification's SNS topic ARN. Directories are
// created 0700 and files 0600. A record leaves the outbox only after its lines
// are written and synced; a message already at the end of its file (written
// before a crash) is not written again, and a line cut short by a crash is
// removed before appending. Under a leadership term's fence (replicas sharing
// the store) a record is first claimed by the term, so that no other term
// writes its messages again (claimEvent). It stops at the first failure, keeping the order,
// and the next call resumes there. The reconciler calls it after each pass.
func (s *Status) DeliverNotifications(ctx context.Context, dir string) error {
	deliverMu.Lock()
	defer deliverMu.Unlock()
	events, err := core.List[model.NotificationEvent](ctx, s.Store(), model.KindNotificationEvent)
	if err != nil {
		return err
	}
	fence, fenced := store.FenceFrom(ctx)
	for _, ev := range events {
		if err := ctx.Err(); err != nil {
			return err
		}
		if fenced {
			deliver, err := s.claimEvent(ctx, ev, claimName(dir, fence))
			if err != nil {
				return err
			}
			if !deliver {
				continue
			}
		}
		if err := s.deliverEvent(dir, ev); err != nil {
			return fmt.Errorf("delivering connection notification event %s: %w", ev.ID, err)
		}
		if err := s.Store().Update(ctx, func(tx *store.Tx) error {
			tx.Delete(core.Key(model.KindNotificationEvent, ev.ID))
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// claimEvent makes term the one that delivers ev, with replicas sharing the
// store (the leader's term fences the write): a record another term began to
// deliver is not written again — that leader died or was deposed between
// writing the messages to its own directory and recording it — and leaves
// the outbox with a warning. It reports whether this term delivers ev.
func (s *Status) claimEvent(ctx context.Context, ev model.NotificationEvent, term string) (bool, error) {
	if ev.DeliveringBy == term {
		return true, nil
	}
	key := core.Key(model.KindNotificationEvent, ev.ID)
	// An earlier term of this replica (the same directory) writes again:
	// what it wrote is at the end of its files and is not written twice.
	mine := ev.DeliveringBy != "" && claimReplica(ev.DeliveringBy) == claimReplica(term)
	if ev.DeliveringBy != "" && !mine {
		s.Log().Warn("connection notification: another leader began delivering this event and stopped before recording it; it is not delivered again (its messages may be in that server's notifications directory)",
			"event", ev.ID, "endpoint", ev.EndpointID, "event_type", ev.Event, "delivering_by", ev.DeliveringBy)
		return false, s.Store().Update(ctx, func(tx *store.Tx) error {
			tx.Delete(key)
			return nil
		})
	}
	found := false
	err := s.Store().Update(ctx, func(tx *store.Tx) error {
		var cur model.NotificationEvent
		ok, err := tx.Get(key, &cur)
		if err != nil || !ok {
			return err
		}
		if cur.DeliveringBy != ev.DeliveringBy {
			return nil // claimed since it was listed: the next pass sees by whom
		}
		found = true
		cur.DeliveringBy = term
		return tx.Put(key, cur)
	})
	return found && err == nil, err
}

// claimName names a term's claim: the replica (host name and notification
// directory) and the term's fence.
func claimName(dir string, f store.Fence) string {
	host, _ := os.Hostname()
	return host + ":" + dir + " " + f.String()
}

// claimReplica is the replica part of a claim's name.
func claimReplica(claim string) string {
	r, _, _ := strings.Cut(claim, " ")
	return r
}

// deliverEvent writes and syncs the lines of one outbox record.
func (s *Status) deliverEvent(dir string, ev model.NotificationEvent) error {
	files := map[string]*os.File{}
	var order []string
	defer func() {
		for _, f := range files {
			_ = f.Close()
		}
	}()
	for _, d := range ev.Deliveries {
		_, account, topic, ok := endpoints.TopicARN(d.TopicARN)
		if !ok {
			s.Log().Warn("connection notification: not an SNS topic ARN; message dropped", "arn", d.TopicARN, "notification", d.NotificationID)
			continue
		}
		line, err := s.notificationLine(ev, d)
		if err != nil {
			return err
		}
		path := filepath.Join(dir, account, topicFileName(topic))
		f, ok := files[path]
		if !ok {
			if f, err = openTopicFile(path); err != nil {
				return err
			}
			files[path] = f
			order = append(order, path)
		}
		written, err := endsWithMessage(f, d.MessageID)
		if err != nil {
			return err
		}
		if written {
			continue
		}
		if _, err := f.Write(line); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	for _, path := range order {
		if err := files[path].Sync(); err != nil {
			return fmt.Errorf("syncing %s: %w", path, err)
		}
	}
	return nil
}

// snsEnvelope is a message as Amazon SNS delivers it to HTTP/HTTPS subscribers
// ("HTTP/HTTPS notification JSON format", Amazon SNS Developer Guide), without
// the signature fields: Strait does not sign.
type snsEnvelope struct {
	Type      string
	MessageID string `json:"MessageId"`
	TopicARN  string `json:"TopicArn"`
	Subject   string
	Message   string
	Timestamp string
}

// connectionMessage is the Message of a connection notification; its fields are
// named after the members of the EC2 ConnectionNotification and
// VpcEndpointConnection shapes.
type connectionMessage struct {
	EventType                 string `json:"eventType"`
	ConnectionNotificationID  string `json:"connectionNotificationId"`
	ConnectionNotificationArn string `json:"connectionNotificationArn"`
	ServiceID                 string `json:"serviceId"`
	ServiceRegion             string `json:"serviceRegion"`
	VpcEndpointID             string `json:"vpcEndpointId"`
	VpcEndpointOwner          string `json:"vpcEndpointOwner"`
	VpcEndpointState          string `json:"vpcEndpointState"`
	VpcEndpointConnectionID   string `json:"vpcEndpointConnectionId,omitempty"`
}

// notificationLine is the JSON line of one delivery, newline included.
func (s *Status) notificationLine(ev model.NotificationEvent, d model.NotificationDelivery) ([]byte, error) {
	msg, err := json.Marshal(connectionMessage{
		EventType: ev.Event, ConnectionNotificationID: d.NotificationID, ConnectionNotificationArn: d.TopicARN,
		ServiceID: ev.ServiceID, ServiceRegion: s.Region(),
		VpcEndpointID: ev.EndpointID, VpcEndpointOwner: ev.EndpointOwner, VpcEndpointState: ev.EndpointState,
		VpcEndpointConnectionID: ev.EndpointConnectionID,
	})
	if err != nil {
		return nil, err
	}
	line, err := json.Marshal(snsEnvelope{
		Type: "Notification", MessageID: d.MessageID, TopicARN: d.TopicARN, Subject: NotificationSubject,
		Message: string(msg), Timestamp: ev.Time.UTC().Format("2006-01-02T15:04:05.000Z"),
	})
	return append(line, '\n'), err
}

// topicFileName is the file of a topic: <topic>.jsonl, or for a name too long
// for a file name, its first 200 characters, a hash of the whole and .jsonl.
func topicFileName(topic string) string {
	if len(topic) <= 240 {
		return topic + ".jsonl"
	}
	sum := sha256.Sum256([]byte(topic))
	return topic[:200] + "-" + hex.EncodeToString(sum[:8]) + ".jsonl"
}

// openTopicFile opens a topic's file for appending, creating it (0600) and its
// directory (0700) as needed, and drops a last line a crash cut short.
func openTopicFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// Make the new directory entry durable too.
		if err := syncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := dropPartialLine(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("repairing %s: %w", path, err)
	}
	return f, nil
}

// tailSize is how much of a file's end is read to find a partial last line or a
// message written before a crash: many times the largest line.
const tailSize = 64 << 10

func readTail(f *os.File) ([]byte, int64, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	off := max(st.Size()-tailSize, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	return buf, off, nil
}

// dropPartialLine truncates the file after its last newline.
func dropPartialLine(f *os.File) error {
	tail, off, err := readTail(f)
	if err != nil || len(tail) == 0 || tail[len(tail)-1] == '\n' {
		return err
	}
	cut := bytes.LastIndexByte(tail, '\n') + 1 // 0 when the tail holds no newline
	if cut == 0 && off > 0 {
		// Not a line of ours (they are far shorter): end it rather than cut it.
		_, err := f.Write([]byte{'\n'})
		return err
	}
	return f.Truncate(off + int64(cut))
}

// endsWithMessage reports whether the message is among the last lines of f.
func endsWithMessage(f *os.File, messageID string) (bool, error) {
	tail, _, err := readTail(f)
	if err != nil {
		return false, err
	}
	return bytes.Contains(tail, []byte(`"MessageId":"`+messageID+`"`)), nil
}

// syncDir flushes a directory's entries to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
