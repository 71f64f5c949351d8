package model

import "time"

// KindPublished is the store kind of published services; a service's key is
// "published/<owner>/<name>".
const KindPublished = "published"

// PrivateLink resource states of a published service.
const (
	PrivateLinkCreating = "creating"
	PrivateLinkActive   = "active"
	PrivateLinkDeleting = "deleting"
	PrivateLinkFailed   = "failed"
)

// PublishedService is a provider's named TCP service in one of its VPCs: a set of
// components (a port and targets each) that it may publish through PrivateLink.
// Its name is unique per account and follows DNS label rules.
type PublishedService struct {
	Name        string       `json:"name"`
	Owner       string       `json:"owner"`
	VpcID       string       `json:"vpcId"`
	SubnetIDs   []string     `json:"subnetIds"`
	Components  []Component  `json:"components"`
	PrivateLink *PrivateLink `json:"privateLink,omitempty"`
	Created     time.Time    `json:"created"`
}

// Component is one TCP port of a published service (for example mysql on 3306 or
// kafka on 9092) and the targets that serve it: "IP:port", "IP" (the component's
// port) or an instance ID. PrivateLinkAccess publishes it through the service's
// PrivateLink resource (a listener on Port).
type Component struct {
	Name              string   `json:"name"`
	Port              int32    `json:"port"`
	Targets           []string `json:"targets,omitempty"`
	PrivateLinkAccess bool     `json:"privateLinkAccess"`
}

// PrivateLink is a published service's PrivateLink resource: the desired allowed
// principals and acceptance, and what the reconciler created for it (a network
// load balancer, a target group and listener per component with access, an
// endpoint service). Deleting is set when its removal was asked for; Force makes
// the removal reject live connections first.
type PrivateLink struct {
	State              string            `json:"state"`
	StateMessage       string            `json:"stateMessage,omitempty"`
	Principals         []string          `json:"principals"`
	AcceptanceRequired bool              `json:"acceptanceRequired"`
	LoadBalancerARN    string            `json:"loadBalancerArn,omitempty"`
	TargetGroups       map[string]string `json:"targetGroups,omitempty"`
	Listeners          map[string]string `json:"listeners,omitempty"`
	ServiceID          string            `json:"serviceId,omitempty"`
	ServiceName        string            `json:"serviceName,omitempty"`
	// PrivateDNSName is the name consumers' endpoints answer for once the provider
	// has verified it (a TXT record); "" for none.
	PrivateDNSName string    `json:"privateDnsName,omitempty"`
	Deleting       bool      `json:"deleting,omitempty"`
	Force          bool      `json:"force,omitempty"`
	Created        time.Time `json:"created"`
}
