package model

import (
	"fmt"
	"time"
)

// Load balancer states.
const (
	LBStateProvisioning = "provisioning"
	LBStateActive       = "active"
	LBStateFailed       = "failed"
)

// LoadBalancer is a network load balancer: one node (an ENI) in each of its subnets.
type LoadBalancer struct {
	ARN            string            `json:"arn"`
	Name           string            `json:"name"`
	Owner          string            `json:"owner"`
	Type           string            `json:"type"`   // "network"
	Scheme         string            `json:"scheme"` // "internal" or "internet-facing"
	VpcID          string            `json:"vpcId"`
	IPAddressType  string            `json:"ipAddressType"`
	DNSName        string            `json:"dnsName"`
	HostedZoneID   string            `json:"hostedZoneId"`
	State          string            `json:"state"`
	StateReason    string            `json:"stateReason,omitempty"`
	Nodes          []LBNode          `json:"nodes"`
	SecurityGroups []string          `json:"securityGroups,omitempty"`
	Attributes     map[string]string `json:"attributes"`
	Tags           Tags              `json:"tags,omitempty"`
	Created        time.Time         `json:"created"`
	// Listeners are the ARNs of the load balancer's listeners.
	Listeners []string `json:"listeners,omitempty"`
	// EnforceSGInboundOnPrivateLink is "on" when the load balancer's security groups
	// also filter traffic that arrives through PrivateLink, "off" when they do not,
	// and empty when the load balancer has no security groups.
	EnforceSGInboundOnPrivateLink string `json:"enforceSgInboundOnPrivateLink,omitempty"`
}

// LBNode is a load balancer's presence in one subnet.
type LBNode struct {
	SubnetID  string `json:"subnetId"`
	AZ        string `json:"az"`
	ENIID     string `json:"eniId"`
	PrivateIP string `json:"privateIp"`
	// TransitIP is the node's address on the kernel forwarding path (in
	// TransitRange), unique in the region: endpoints' flows are translated to
	// it, and the node's VPC translates them on to a target. "" until assigned.
	TransitIP string `json:"transitIp,omitempty"`
}

// HealthCheck is a target group's health-check configuration.
type HealthCheck struct {
	Enabled            bool   `json:"enabled"`
	Protocol           string `json:"protocol"`
	Port               string `json:"port"` // "traffic-port" or a number
	Path               string `json:"path,omitempty"`
	Matcher            string `json:"matcher,omitempty"`
	IntervalSeconds    int32  `json:"intervalSeconds"`
	TimeoutSeconds     int32  `json:"timeoutSeconds"`
	HealthyThreshold   int32  `json:"healthyThreshold"`
	UnhealthyThreshold int32  `json:"unhealthyThreshold"`
}

// Target is one registered target of a target group: an IP or an instance ID, a port
// and, for IP targets outside the VPC, an availability zone ("all").
type Target struct {
	ID         string    `json:"id"`
	Port       int32     `json:"port"`
	AZ         string    `json:"az,omitempty"`
	Registered time.Time `json:"registered"`
	// DrainingUntil, when set, is the end of the target's deregistration delay:
	// it gets no new connections, its established ones may finish until then, and
	// it is removed from the group at that time.
	DrainingUntil time.Time `json:"drainingUntil,omitzero"`
}

// Draining reports whether the target is being deregistered.
func (t Target) Draining() bool { return !t.DrainingUntil.IsZero() }

// TargetGroup routes a listener's connections to its targets.
type TargetGroup struct {
	ARN           string            `json:"arn"`
	Name          string            `json:"name"`
	Owner         string            `json:"owner"`
	Protocol      string            `json:"protocol"`
	Port          int32             `json:"port"`
	VpcID         string            `json:"vpcId"`
	TargetType    string            `json:"targetType"` // "ip" or "instance"
	IPAddressType string            `json:"ipAddressType"`
	HealthCheck   HealthCheck       `json:"healthCheck"`
	Attributes    map[string]string `json:"attributes"`
	Targets       []Target          `json:"targets,omitempty"`
	Tags          Tags              `json:"tags,omitempty"`
	Created       time.Time         `json:"created"`
	// Listeners are the ARNs of the listeners that forward to this group; they all
	// belong to one load balancer.
	Listeners []string `json:"listeners,omitempty"`
}

// Action is a listener's default action; Strait's NLB listeners forward.
type Action struct {
	Type           string `json:"type"`
	TargetGroupARN string `json:"targetGroupArn"`
}

// Listener accepts connections on a port of a load balancer.
type Listener struct {
	ARN             string            `json:"arn"`
	LoadBalancerARN string            `json:"loadBalancerArn"`
	Owner           string            `json:"owner"`
	Port            int32             `json:"port"`
	Protocol        string            `json:"protocol"`
	Actions         []Action          `json:"actions"`
	Attributes      map[string]string `json:"attributes,omitempty"`
	Tags            Tags              `json:"tags,omitempty"`
	Created         time.Time         `json:"created"`
}

// Target health states and reasons, as ELBv2 reports them.
const (
	TargetInitial     = "initial"
	TargetHealthy     = "healthy"
	TargetUnhealthy   = "unhealthy"
	TargetUnused      = "unused"
	TargetDraining    = "draining"
	TargetUnavailable = "unavailable"
)

// IsTargetHealthState reports whether s is one of the target health states.
func IsTargetHealthState(s string) bool {
	switch s {
	case TargetInitial, TargetHealthy, TargetUnhealthy, TargetUnused, TargetDraining, TargetUnavailable:
		return true
	}
	return false
}

// TargetHealth is the observed health of one target, written by the data plane.
type TargetHealth struct {
	State       string    `json:"state"`
	Reason      string    `json:"reason,omitempty"`
	Description string    `json:"description,omitempty"`
	Since       time.Time `json:"since"`
}

// Target health reasons, as ELBv2 reports them.
const (
	ReasonRegistrationInProgress   = "Elb.RegistrationInProgress"
	ReasonInitialHealthChecking    = "Elb.InitialHealthChecking"
	ReasonFailedHealthChecks       = "Target.FailedHealthChecks"
	ReasonTimeout                  = "Target.Timeout"
	ReasonNotRegistered            = "Target.NotRegistered"
	ReasonNotInUse                 = "Target.NotInUse"
	ReasonDeregistrationInProgress = "Target.DeregistrationInProgress"
	ReasonResponseCodeMismatch     = "Target.ResponseCodeMismatch"
	ReasonInternalError            = "Elb.InternalError"
	ReasonHealthCheckDisabled      = "Target.HealthCheckDisabled"
	ReasonInvalidState             = "Target.InvalidState"
)

// KindTargetHealth is the store kind of observed target health records.
const KindTargetHealth = "targethealth"

// TargetHealthID is the store ID of the health record of one target of a target
// group: "<16-hex ID of the group>/<target ID>:<port>" (the record's key is
// KindTargetHealth + "/" + this ID). The data plane writes TargetHealth values there.
func TargetHealthID(targetGroupARN, targetID string, port int32) string {
	return fmt.Sprintf("%s/%s:%d", ARNResourceID(targetGroupARN), targetID, port)
}
