package model

import "time"

// Endpoint service states.
const (
	ServicePending   = "Pending"
	ServiceAvailable = "Available"
	ServiceDeleting  = "Deleting"
	ServiceDeleted   = "Deleted"
	ServiceFailed    = "Failed"
)

// Interface endpoint (and connection) states, as DescribeVpcEndpoints writes them.
const (
	EndpointPendingAcceptance = "pendingAcceptance"
	EndpointPending           = "pending"
	EndpointAvailable         = "available"
	EndpointDeleting          = "deleting"
	EndpointDeleted           = "deleted"
	EndpointRejected          = "rejected"
	EndpointFailed            = "failed"
	EndpointExpired           = "expired"
)

// Private DNS verification states.
const (
	DNSPendingVerification = "pendingVerification"
	DNSVerified            = "verified"
	DNSFailed              = "failed"
)

// EndpointService publishes one or more network load balancers to other accounts.
type EndpointService struct {
	ID                  string       `json:"id"`
	Name                string       `json:"name"`
	Owner               string       `json:"owner"`
	State               string       `json:"state"`
	AcceptanceRequired  bool         `json:"acceptanceRequired"`
	NLBARNs             []string     `json:"nlbArns"`
	AZs                 []string     `json:"azs"`
	PrivateDNSName      string       `json:"privateDnsName,omitempty"`
	DNSVerification     *DNSVerify   `json:"dnsVerification,omitempty"`
	Principals          []Permission `json:"principals,omitempty"`
	PayerResponsibility string       `json:"payerResponsibility"`
	Tags                Tags         `json:"tags,omitempty"`
	Created             time.Time    `json:"created"`
	// SupportedIPAddressTypes are the address types consumers may use ("ipv4").
	SupportedIPAddressTypes []string `json:"supportedIpAddressTypes,omitempty"`
	// RejectRemovedPrincipals makes ModifyVpcEndpointServicePermissions reject the
	// live connections of principals it removes (AWS leaves them connected).
	RejectRemovedPrincipals bool `json:"rejectRemovedPrincipals,omitempty"`
}

// Principal types, as DescribeVpcEndpointServicePermissions writes them.
const (
	PrincipalAll     = "All"
	PrincipalService = "Service"
	PrincipalAccount = "Account"
	PrincipalUser    = "User"
	PrincipalRole    = "Role"
)

// DNSVerify is the TXT record a provider publishes to prove it owns PrivateDNSName:
// a record named Name (an underscore label under the domain) with value Value.
type DNSVerify struct {
	State  string    `json:"state"`
	Name   string    `json:"name"`  // e.g. _abcd1234
	Value  string    `json:"value"` // vpce:<token>
	Type   string    `json:"type"`  // TXT
	Detail string    `json:"detail,omitempty"`
	Since  time.Time `json:"since"`
}

// Permission is one allowed principal of an endpoint service.
type Permission struct {
	ID        string    `json:"id"` // vpce-svc-perm-…
	Principal string    `json:"principal"`
	Type      string    `json:"type"` // All, Service, OrganizationUnit, Account, User, Role
	Tags      Tags      `json:"tags,omitempty"`
	Created   time.Time `json:"created"`
}

// Endpoint is an interface VPC endpoint: a consumer's connection to a service, with
// one ENI in each of its subnets. Its State is also the connection's state.
type Endpoint struct {
	ID                string    `json:"id"`
	Owner             string    `json:"owner"`
	VpcID             string    `json:"vpcId"`
	ServiceID         string    `json:"serviceId"`
	ServiceName       string    `json:"serviceName"`
	ServiceOwner      string    `json:"serviceOwner"`
	Type              string    `json:"type"` // Interface
	State             string    `json:"state"`
	StateMessage      string    `json:"stateMessage,omitempty"`
	SubnetIDs         []string  `json:"subnetIds"`
	ENIs              []string  `json:"enis"`
	SecurityGroups    []string  `json:"securityGroups"`
	PrivateDNSEnabled bool      `json:"privateDnsEnabled"`
	DNSLabel          string    `json:"dnsLabel"` // the random part of its DNS names
	PolicyDocument    string    `json:"policyDocument,omitempty"`
	IPAddressType     string    `json:"ipAddressType"`
	Tags              Tags      `json:"tags,omitempty"`
	Created           time.Time `json:"created"`
	Accepted          time.Time `json:"accepted,omitempty"`
	// ConnectionID is the vpce-con-… ID the service owner sees for this connection.
	ConnectionID string `json:"connectionId,omitempty"`
	// AZs are the availability zones of SubnetIDs, in zone order.
	AZs []string `json:"azs,omitempty"`
	// PrivateDNSName is the private DNS name this endpoint holds in its VPC (set
	// while PrivateDNSEnabled; at most one endpoint per name per VPC).
	PrivateDNSName string `json:"privateDnsName,omitempty"`
	// DNSRecordIPType is the endpoint's DnsOptions.DnsRecordIpType ("ipv4" or
	// "service-defined"); empty in records written before it existed, meaning ipv4.
	DNSRecordIPType string `json:"dnsRecordIpType,omitempty"`
}

// ConnectionNotification records where to announce endpoint connection events.
type ConnectionNotification struct {
	ID         string    `json:"id"`
	Owner      string    `json:"owner"`
	ServiceID  string    `json:"serviceId,omitempty"`
	EndpointID string    `json:"endpointId,omitempty"`
	ARN        string    `json:"arn"`
	Events     []string  `json:"events"`
	State      string    `json:"state"` // Enabled, Disabled
	Created    time.Time `json:"created"`
}
