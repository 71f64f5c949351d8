package nativeapi

import (
	"time"

	"strait/internal/control/published"
	"strait/internal/model"
)

// Service is a published service as the native API shows it.
type Service struct {
	Name        string       `json:"name"`
	Owner       string       `json:"owner"`
	VpcID       string       `json:"vpc_id"`
	SubnetIDs   []string     `json:"subnet_ids"`
	Components  []Component  `json:"components"`
	PrivateLink *PrivateLink `json:"privatelink,omitempty"`
	Created     time.Time    `json:"created"`
}

// Component is one port of a published service and its targets ("IP:port", "IP"
// or an instance ID).
type Component struct {
	Name              string   `json:"name"`
	Port              int32    `json:"port"`
	Targets           []string `json:"targets"`
	PrivateLinkAccess bool     `json:"privatelink_access"`
}

// PrivateLink is a published service's PrivateLink resource. State is creating,
// active, deleting or failed (StateMessage then says what to do next).
type PrivateLink struct {
	State              string            `json:"state"`
	StateMessage       string            `json:"state_message,omitempty"`
	Principals         []string          `json:"principals"`
	AcceptanceRequired bool              `json:"acceptance_required"`
	AWSServiceID       string            `json:"aws_service_id"`
	AWSServiceName     string            `json:"aws_service_name"`
	LoadBalancerARN    string            `json:"load_balancer_arn"`
	TargetGroups       map[string]string `json:"target_groups"`
	Listeners          map[string]string `json:"listeners"`
	// PrivateDNSName is the name consumers' endpoints answer for once verified.
	PrivateDNSName string `json:"private_dns_name,omitempty"`
	// PrivateDNSVerification is the TXT record that proves the provider owns
	// PrivateDNSName, and whether it was found.
	PrivateDNSVerification *DNSVerification `json:"private_dns_verification,omitempty"`
	Created                time.Time        `json:"created"`
}

// DNSVerification is the TXT record a provider publishes in its DNS to prove it
// owns a private DNS name: Name (under the domain) with Value. State is
// pendingVerification, verified or failed (Detail then says what was found).
type DNSVerification struct {
	State  string `json:"state"`
	Type   string `json:"type"`
	Name   string `json:"name"`
	Value  string `json:"value"`
	Detail string `json:"detail,omitempty"`
}

// Connection is one consumer endpoint connected to a service. Traffic is null
// until a data plane reports counters.
type Connection struct {
	EndpointID string    `json:"endpoint_id"`
	Owner      string    `json:"owner"`
	State      string    `json:"state"`
	Created    time.Time `json:"created"`
	DNSName    string    `json:"dns_name,omitempty"`
	Traffic    *Traffic  `json:"traffic"`
}

// Traffic is what the data plane carried through an endpoint since it was
// created: connections and bytes (in = consumer → service), and the connections
// open at Updated.
type Traffic struct {
	Connections       uint64    `json:"connections"`
	ActiveConnections int64     `json:"active_connections"`
	BytesIn           uint64    `json:"bytes_in"`
	BytesOut          uint64    `json:"bytes_out"`
	Rejected          uint64    `json:"rejected"`
	Updated           time.Time `json:"updated"`
}

// ConnectionInfo is how clients reach a service's components on one route.
type ConnectionInfo struct {
	Service        string            `json:"service"`
	Route          string            `json:"route"`
	AWSServiceName string            `json:"aws_service_name,omitempty"`
	PrivateDNSName string            `json:"private_dns_name,omitempty"`
	Entries        []ConnectionEntry `json:"entries"`
	Note           string            `json:"note,omitempty"`
}

// ConnectionEntry is one host and port of a component, with a client command for
// well-known components.
type ConnectionEntry struct {
	Component  string `json:"component"`
	EndpointID string `json:"endpoint_id,omitempty"`
	Host       string `json:"host"`
	Port       int32  `json:"port"`
	Command    string `json:"command,omitempty"`
}

// CreateServiceRequest is the body of POST /strait/v1/services.
type CreateServiceRequest struct {
	Name       string      `json:"name"`
	VpcID      string      `json:"vpc_id"`
	SubnetIDs  []string    `json:"subnet_ids,omitempty"`
	Components []Component `json:"components"`
}

// ComponentUpdate changes one component; absent fields are left alone.
type ComponentUpdate struct {
	Port              *int32    `json:"port,omitempty"`
	Targets           *[]string `json:"targets,omitempty"`
	PrivateLinkAccess *bool     `json:"privatelink_access,omitempty"`
}

// UpdateServiceRequest is the body of PATCH /strait/v1/services/{name}.
type UpdateServiceRequest struct {
	AddComponents    []Component                `json:"add_components,omitempty"`
	RemoveComponents []string                   `json:"remove_components,omitempty"`
	Components       map[string]ComponentUpdate `json:"components,omitempty"`
}

// CreatePrivateLinkRequest is the body of POST /strait/v1/services/{name}/privatelink.
type CreatePrivateLinkRequest struct {
	Principals         []string `json:"principals"`
	AcceptanceRequired bool     `json:"acceptance_required"`
	PrivateDNSName     string   `json:"private_dns_name,omitempty"`
}

// UpdatePrivateLinkRequest is the body of PATCH /strait/v1/services/{name}/privatelink;
// absent fields are left alone. Principals REPLACES the whole list; an empty
// PrivateDNSName removes the name.
type UpdatePrivateLinkRequest struct {
	Principals     *[]string `json:"principals,omitempty"`
	PrivateDNSName *string   `json:"private_dns_name,omitempty"`
}

// ConnectionsRequest is the body of POST …/privatelink/connections/accept and /reject.
type ConnectionsRequest struct {
	EndpointIDs []string `json:"endpoint_ids"`
}

// ConnectionsResult lists the endpoints an accept or reject could not decide.
type ConnectionsResult struct {
	Failed []FailedItem `json:"failed"`
}

// FailedItem is one endpoint that failed, with the error.
type FailedItem struct {
	EndpointID string `json:"endpoint_id"`
	Code       string `json:"code"`
	Message    string `json:"message"`
}

// ErrorBody is the body of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is an AWS-style error code and a message that says what to do next.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ServiceList is the body of GET /strait/v1/services.
type ServiceList struct {
	Services []Service `json:"services"`
}

// ConnectionList is the body of GET …/privatelink/connections.
type ConnectionList struct {
	Connections []Connection `json:"connections"`
}

func serviceView(s model.PublishedService) Service {
	out := Service{Name: s.Name, Owner: s.Owner, VpcID: s.VpcID, SubnetIDs: s.SubnetIDs, Components: []Component{}, Created: s.Created}
	for _, c := range s.Components {
		out.Components = append(out.Components, componentView(c))
	}
	if pl := s.PrivateLink; pl != nil {
		out.PrivateLink = &PrivateLink{
			State: pl.State, StateMessage: pl.StateMessage, Principals: pl.Principals, AcceptanceRequired: pl.AcceptanceRequired,
			AWSServiceID: pl.ServiceID, AWSServiceName: pl.ServiceName, LoadBalancerARN: pl.LoadBalancerARN,
			TargetGroups: pl.TargetGroups, Listeners: pl.Listeners, PrivateDNSName: pl.PrivateDNSName, Created: pl.Created,
		}
		if out.PrivateLink.Principals == nil {
			out.PrivateLink.Principals = []string{}
		}
		if out.PrivateLink.TargetGroups == nil {
			out.PrivateLink.TargetGroups = map[string]string{}
		}
		if out.PrivateLink.Listeners == nil {
			out.PrivateLink.Listeners = map[string]string{}
		}
	}
	return out
}

func componentView(c model.Component) Component {
	t := c.Targets
	if t == nil {
		t = []string{}
	}
	return Component{Name: c.Name, Port: c.Port, Targets: t, PrivateLinkAccess: c.PrivateLinkAccess}
}

func componentModel(c Component) model.Component {
	return model.Component{Name: c.Name, Port: c.Port, Targets: c.Targets, PrivateLinkAccess: c.PrivateLinkAccess}
}

func connectionView(c published.PrivateLinkConnection) Connection {
	out := Connection{EndpointID: c.EndpointID, Owner: c.Owner, State: c.State, Created: c.Created, DNSName: c.DNSName}
	if t := c.Traffic; t != nil {
		out.Traffic = &Traffic{Connections: t.Connections, ActiveConnections: t.ActiveConnections,
			BytesIn: t.BytesIn, BytesOut: t.BytesOut, Rejected: t.Rejected, Updated: t.Updated}
	}
	return out
}

func infoView(i published.ConnectionInfo) ConnectionInfo {
	out := ConnectionInfo{Service: i.Service, Route: i.Route, AWSServiceName: i.ServiceName, PrivateDNSName: i.PrivateDNSName, Entries: []ConnectionEntry{}, Note: i.Note}
	for _, e := range i.Entries {
		out.Entries = append(out.Entries, ConnectionEntry{Component: e.Component, EndpointID: e.EndpointID, Host: e.Host, Port: e.Port, Command: e.Command})
	}
	return out
}
