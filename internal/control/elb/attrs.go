package elb

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"strait/internal/control/core"
	"strait/internal/model"
	"strait/internal/store"
)

// ELBAttribute is one attribute of a load balancer or target group.
type ELBAttribute struct {
	Key   string
	Value string
}

// Load balancer attribute keys that Strait's network load balancers have.
const (
	attrCrossZone          = "load_balancing.cross_zone.enabled"
	attrDeletionProtection = "deletion_protection.enabled"
	attrDenyIGW            = "ipv6.deny_all_igw_traffic"
	attrDNSRouting         = "dns_record.client_routing_policy"
	attrAccessLogs         = "access_logs.s3.enabled"
	attrAccessLogsBucket   = "access_logs.s3.bucket"
	attrAccessLogsPrefix   = "access_logs.s3.prefix"
	attrZonalShift         = "zonal_shift.config.enabled"
)

// Target group attribute keys of network load balancer target groups.
const (
	attrDeregDelay          = "deregistration_delay.timeout_seconds"
	attrDeregTermination    = "deregistration_delay.connection_termination.enabled"
	attrProxyProtocolV2     = "proxy_protocol_v2.enabled"
	attrPreserveClientIP    = "preserve_client_ip.enabled"
	attrStickiness          = "stickiness.enabled"
	attrStickinessType      = "stickiness.type"
	attrTGCrossZone         = "load_balancing.cross_zone.enabled"
	attrUnhealthyTerminate  = "target_health_state.unhealthy.connection_termination.enabled"
	attrUnhealthyDraining   = "target_health_state.unhealthy.draining_interval_seconds"
	attrDNSFailoverCount    = "target_group_health.dns_failover.minimum_healthy_targets.count"
	attrDNSFailoverPercent  = "target_group_health.dns_failover.minimum_healthy_targets.percentage"
	attrRoutingHealthyCount = "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count"
	attrRoutingHealthyPct   = "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage"
	// attrRelay is Strait's own (model.RelayAttribute): the group's listeners
	// go through the user-space relay instead of the kernel path.
	attrRelay = model.RelayAttribute
)

// attrRule checks one attribute value; it returns why the value is wrong, or "".
type attrRule func(v string) string

func boolAttr(v string) string {
	if v != "true" && v != "false" {
		return "must be 'true' or 'false'"
	}
	return ""
}

func intAttr(lo, hi int) attrRule {
	return func(v string) string {
		if n, err := strconv.Atoi(v); err != nil || n < lo || n > hi {
			return fmt.Sprintf("must be an integer from %d to %d", lo, hi)
		}
		return ""
	}
}

func offOrIntAttr(lo, hi int) attrRule {
	return func(v string) string {
		if v == "off" {
			return ""
		}
		if msg := intAttr(lo, hi)(v); msg != "" {
			return "must be 'off' or an integer from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi)
		}
		return ""
	}
}

func enumAttr(values ...string) attrRule {
	return func(v string) string {
		if !slices.Contains(values, v) {
			return "must be one of '" + strings.Join(values, "', '") + "'"
		}
		return ""
	}
}

var lbAttrRules = map[string]attrRule{
	attrCrossZone:          boolAttr,
	attrDeletionProtection: boolAttr,
	attrDenyIGW:            boolAttr,
	attrDNSRouting:         enumAttr("any_availability_zone", "availability_zone_affinity", "partial_availability_zone_affinity"),
	attrAccessLogs:         boolAttr,
	attrAccessLogsBucket:   anyAttr,
	attrAccessLogsPrefix:   logPrefixAttr,
	attrZonalShift:         boolAttr,
}

// anyAttr accepts any value.
func anyAttr(string) string { return "" }

// logPrefixAttr checks an access log prefix: AWS reserves "AWSLogs" for the path it
// adds itself.
func logPrefixAttr(v string) string {
	if strings.Contains(v, "AWSLogs") {
		return "must not contain 'AWSLogs'"
	}
	return ""
}

func defaultLBAttributes() map[string]string {
	return map[string]string{
		attrCrossZone:          "false",
		attrDeletionProtection: "false",
		attrDenyIGW:            "false",
		attrDNSRouting:         "any_availability_zone",
		attrAccessLogs:         "false",
		attrAccessLogsBucket:   "",
		attrAccessLogsPrefix:   "",
		attrZonalShift:         "false",
	}
}

// lbAttributes are a load balancer's attributes, with the defaults of keys added
// after it was created.
func lbAttributes(lb model.LoadBalancer) map[string]string {
	out := defaultLBAttributes()
	maps.Copy(out, lb.Attributes)
	return out
}

var tgAttrRules = map[string]attrRule{
	attrDeregDelay:          intAttr(0, 3600),
	attrDeregTermination:    boolAttr,
	attrProxyProtocolV2:     boolAttr,
	attrPreserveClientIP:    boolAttr,
	attrStickiness:          boolAttr,
	attrStickinessType:      enumAttr("source_ip"),
	attrTGCrossZone:         enumAttr("true", "false", "use_load_balancer_configuration"),
	attrUnhealthyTerminate:  boolAttr,
	attrUnhealthyDraining:   intAttr(0, 360000),
	attrDNSFailoverCount:    offOrIntAttr(1, maxTargets),
	attrDNSFailoverPercent:  offOrIntAttr(1, 100),
	attrRoutingHealthyCount: intAttr(1, maxTargets),
	attrRoutingHealthyPct:   offOrIntAttr(1, 100),
	attrRelay:               boolAttr,
}

func defaultTGAttributes(targetType string) map[string]string {
	return map[string]string{
		attrDeregDelay:          "300",
		attrDeregTermination:    "false",
		attrProxyProtocolV2:     "false",
		attrPreserveClientIP:    strconv.FormatBool(targetType == TargetTypeInstance),
		attrStickiness:          "false",
		attrStickinessType:      "source_ip",
		attrTGCrossZone:         "use_load_balancer_configuration",
		attrUnhealthyTerminate:  "true",
		attrUnhealthyDraining:   "0",
		attrDNSFailoverCount:    "1",
		attrDNSFailoverPercent:  "off",
		attrRoutingHealthyCount: "1",
		attrRoutingHealthyPct:   "off",
		attrRelay:               "false",
	}
}

// tgAttributes are a target group's attributes, with the defaults of keys added
// after it was created.
func tgAttributes(tg model.TargetGroup) map[string]string {
	out := defaultTGAttributes(tg.TargetType)
	maps.Copy(out, tg.Attributes)
	return out
}

// mergeAttributes applies changes to a copy of current after checking each key and
// value against rules; what names the resource kind in messages.
func mergeAttributes(what string, current map[string]string, changes []ELBAttribute, rules map[string]attrRule) (map[string]string, error) {
	if len(changes) == 0 {
		return nil, model.Missing("Attributes")
	}
	out := maps.Clone(current)
	for _, a := range changes {
		rule, ok := rules[a.Key]
		if !ok {
			return nil, model.Invalid("%s attribute key '%s' is not recognized", what, a.Key)
		}
		if msg := rule(a.Value); msg != "" {
			return nil, model.Invalid("%s attribute '%s' cannot be '%s': the value %s", what, a.Key, a.Value, msg)
		}
		out[a.Key] = a.Value
	}
	return out, nil
}

// attributeList renders attributes in key order.
func attributeList(m map[string]string) []ELBAttribute {
	out := make([]ELBAttribute, 0, len(m))
	for _, k := range core.SortedKeys(m) {
		out = append(out, ELBAttribute{Key: k, Value: m[k]})
	}
	return out
}

// LoadBalancerAttributes returns a load balancer's attributes in key order.
func (c *ELB) LoadBalancerAttributes(ctx context.Context, acct, arn string) ([]ELBAttribute, error) {
	lb, err := c.LoadBalancer(ctx, acct, arn)
	if err != nil {
		return nil, err
	}
	return attributeList(lbAttributes(lb)), nil
}

// ModifyLoadBalancerAttributes changes attributes of a load balancer and returns all
// of them.
func (c *ELB) ModifyLoadBalancerAttributes(ctx context.Context, acct, arn string, changes []ELBAttribute) ([]ELBAttribute, error) {
	if _, err := c.LoadBalancer(ctx, acct, arn); err != nil {
		return nil, err
	}
	var out map[string]string
	err := c.Update(ctx, func(tx *store.Tx) error {
		lb, err := txGetELB[model.LoadBalancer](c, tx, acct, arn, model.KindLoadBalancer)
		if err != nil {
			return err
		}
		if out, err = mergeAttributes("Load balancer", lbAttributes(lb), changes, lbAttrRules); err != nil {
			return err
		}
		if out[attrAccessLogs] == "true" {
			return model.WithReason(model.ErrUnsupported, model.ReasonConfiguration, "Access logs need an S3 bucket, and Strait has no S3: '%s' can only be 'false'", attrAccessLogs)
		}
		if out[attrAccessLogsBucket] != "" {
			return model.WithReason(model.ErrUnsupported, model.ReasonConfiguration, "Access logs need an S3 bucket, and Strait has no S3: '%s' can only be empty", attrAccessLogsBucket)
		}
		lb.Attributes = out
		return tx.Put(core.Key(model.KindLoadBalancer, model.ARNResourceID(arn)), lb)
	})
	if err != nil {
		return nil, err
	}
	return attributeList(out), nil
}

// TargetGroupAttributes returns a target group's attributes in key order.
func (c *ELB) TargetGroupAttributes(ctx context.Context, acct, arn string) ([]ELBAttribute, error) {
	tg, err := c.TargetGroup(ctx, acct, arn)
	if err != nil {
		return nil, err
	}
	return attributeList(tgAttributes(tg)), nil
}

// ModifyTargetGroupAttributes changes attributes of a target group and returns all
// of them.
func (c *ELB) ModifyTargetGroupAttributes(ctx context.Context, acct, arn string, changes []ELBAttribute) ([]ELBAttribute, error) {
	if _, err := c.TargetGroup(ctx, acct, arn); err != nil {
		return nil, err
	}
	var out map[string]string
	err := c.Update(ctx, func(tx *store.Tx) error {
		tg, err := txGetELB[model.TargetGroup](c, tx, acct, arn, model.KindTargetGroup)
		if err != nil {
			return err
		}
		if out, err = mergeAttributes("Target group", tgAttributes(tg), changes, tgAttrRules); err != nil {
			return err
		}
		if out[attrUnhealthyTerminate] == "true" && out[attrUnhealthyDraining] != "0" {
			return model.WithReason(model.ErrInvalid, model.ReasonConfiguration, "'%s' can be set only when '%s' is 'false'", attrUnhealthyDraining, attrUnhealthyTerminate)
		}
		tg.Attributes = out
		return tx.Put(core.Key(model.KindTargetGroup, model.ARNResourceID(arn)), tg)
	})
	if err != nil {
		return nil, err
	}
	return attributeList(out), nil
}
