package elb

import (
	"context"
	"maps"
	"strconv"
	"time"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// attrTCPIdleTimeout is the one attribute of a network load balancer's TCP
// listener: how long a connection may move no byte either way before it is closed
// (60–6000 s, default 350 s).
const attrTCPIdleTimeout = "tcp.idle_timeout.seconds"

// defaultTCPIdleTimeout is the TCP idle timeout of a listener that sets none.
const defaultTCPIdleTimeout = 350

var listenerAttrRules = map[string]attrRule{
	attrTCPIdleTimeout: intAttr(60, 6000),
}

// listenerAttributes are a listener's attributes, defaults included.
func listenerAttributes(l model.Listener) map[string]string {
	out := map[string]string{attrTCPIdleTimeout: strconv.Itoa(defaultTCPIdleTimeout)}
	maps.Copy(out, l.Attributes)
	return out
}

// ListenerIdleTimeout is how long a connection through the listener may stay idle
// (its tcp.idle_timeout.seconds).
func ListenerIdleTimeout(l model.Listener) time.Duration {
	n, err := strconv.Atoi(listenerAttributes(l)[attrTCPIdleTimeout])
	if err != nil || n <= 0 {
		n = defaultTCPIdleTimeout
	}
	return time.Duration(n) * time.Second
}

// ListenerAttributes returns a listener's attributes in key order.
func (c *ELB) ListenerAttributes(ctx context.Context, acct, arn string) ([]ELBAttribute, error) {
	l, err := c.Listener(ctx, acct, arn)
	if err != nil {
		return nil, err
	}
	return attributeList(listenerAttributes(l)), nil
}

// ModifyListenerAttributes changes attributes of a listener and returns all of
// them. The data plane applies a new idle timeout to the listener's connections,
// established ones included.
func (c *ELB) ModifyListenerAttributes(ctx context.Context, acct, arn string, changes []ELBAttribute) ([]ELBAttribute, error) {
	if _, err := c.Listener(ctx, acct, arn); err != nil {
		return nil, err
	}
	var out map[string]string
	err := c.Update(ctx, func(tx *store.Tx) error {
		l, err := txGetELB[model.Listener](c, tx, acct, arn, model.KindListener)
		if err != nil {
			return err
		}
		if out, err = mergeAttributes("Listener", listenerAttributes(l), changes, listenerAttrRules); err != nil {
			return err
		}
		l.Attributes = out
		return tx.Put(core.Key(model.KindListener, model.ARNResourceID(arn)), l)
	})
	if err != nil {
		return nil, err
	}
	return attributeList(out), nil
}
