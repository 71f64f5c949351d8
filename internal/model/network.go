package model

import "time"

// Tags are a resource's key/value tags.
type Tags map[string]string

// Clone copies the tags; no tags clone to nil.
func (t Tags) Clone() Tags {
	if len(t) == 0 {
		return nil
	}
	out := make(Tags, len(t))
	for k, v := range t {
		out[k] = v
	}
	return out
}

// Account is a tenant. Every resource belongs to exactly one account.
type Account struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

// AccessKey is an account's SigV4 credential.
type AccessKey struct {
	ID      string    `json:"id"`
	Secret  string    `json:"secret"`
	Account string    `json:"account"`
	Created time.Time `json:"created"`
}

// Vpc is a virtual private cloud: an isolated IPv4 network. Its main route table,
// default network ACL and default security group are created with it.
type Vpc struct {
	ID                 string `json:"id"`
	Owner              string `json:"owner"`
	CIDR               string `json:"cidr"`
	CidrAssociationID  string `json:"cidrAssociationId"`
	State              string `json:"state"`
	InstanceTenancy    string `json:"instanceTenancy"`
	EnableDNSSupport   bool   `json:"enableDnsSupport"`
	EnableDNSHostnames bool   `json:"enableDnsHostnames"`
	EnableNAUMetrics   bool   `json:"enableNetworkAddressUsageMetrics,omitempty"`
	// IsDefault marks the account's default VPC (see control.EnsureDefaultVpc).
	IsDefault              bool   `json:"isDefault,omitempty"`
	MainRouteTableID       string `json:"mainRouteTableId"`
	MainRouteAssocID       string `json:"mainRouteAssocId"`
	DefaultNetworkACLID    string `json:"defaultNetworkAclId"`
	DefaultSecurityGroupID string `json:"defaultSecurityGroupId"`
	DhcpOptionsID          string `json:"dhcpOptionsId"`
	// TransitIP is the VPC's address on the kernel forwarding path (in
	// TransitRange), unique in the region; "" until assigned.
	TransitIP string    `json:"transitIp,omitempty"`
	Tags      Tags      `json:"tags,omitempty"`
	Created   time.Time `json:"created"`
}

// Subnet is a range of a VPC's addresses in one availability zone. Each private IP
// allocated in it is a record of its own (KindIPAddress); the subnet keeps only
// their number and an allocation hint, so that its record stays small however
// many interfaces the subnet holds.
type Subnet struct {
	ID                  string `json:"id"`
	Owner               string `json:"owner"`
	VpcID               string `json:"vpcId"`
	CIDR                string `json:"cidr"`
	AZ                  string `json:"az"`
	AZID                string `json:"azId"`
	State               string `json:"state"`
	MapPublicIPOnLaunch bool   `json:"mapPublicIpOnLaunch"`
	// DefaultForAZ marks a default subnet of the default VPC.
	DefaultForAZ     bool      `json:"defaultForAz,omitempty"`
	ACLAssociationID string    `json:"aclAssociationId"`
	Tags             Tags      `json:"tags,omitempty"`
	Created          time.Time `json:"created"`
	// UsedCount is how many addresses have an IPAddress record in the subnet.
	UsedCount int `json:"usedCount,omitempty"`
	// FreeFrom is an allocation hint: no address of the subnet below it is free
	// ("" : no hint, start at the first usable address).
	FreeFrom string `json:"freeFrom,omitempty"`
	// Used is how earlier versions recorded the allocated addresses (IP → owner
	// ID); its entries also count as allocated and are moved into IPAddress
	// records a few at a time as the subnet's addresses change.
	Used map[string]string `json:"used,omitempty"`
}

// KindIPAddress is the store kind of an allocated private IP address; its key is
// the subnet ID and the address (see control).
const KindIPAddress = "ip"

// IPAddress is a private IP allocated in a subnet and who holds it (an ENI ID).
type IPAddress struct {
	IP    string `json:"ip"`
	Owner string `json:"owner"`
}

// SecurityGroup is a stateful firewall attached to network interfaces.
type SecurityGroup struct {
	ID          string    `json:"id"`
	Owner       string    `json:"owner"`
	VpcID       string    `json:"vpcId"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Rules       []SGRule  `json:"rules,omitempty"`
	Tags        Tags      `json:"tags,omitempty"`
	Created     time.Time `json:"created"`
}

// SGRule is one security group rule. Protocol is "-1" (all), "tcp", "udp", "icmp" or
// a protocol number; exactly one of CIDR, CIDRv6, PrefixListID and GroupID is set.
type SGRule struct {
	ID           string `json:"id"`
	Egress       bool   `json:"egress"`
	Protocol     string `json:"protocol"`
	FromPort     int32  `json:"fromPort"`
	ToPort       int32  `json:"toPort"`
	CIDR         string `json:"cidr,omitempty"`
	CIDRv6       string `json:"cidrv6,omitempty"`
	PrefixListID string `json:"prefixListId,omitempty"`
	GroupID      string `json:"groupId,omitempty"`
	GroupOwner   string `json:"groupOwner,omitempty"`
	Description  string `json:"description,omitempty"`
	Tags         Tags   `json:"tags,omitempty"`
}

// ENI interface types.
const (
	ENITypeInterface   = "interface"
	ENITypeEndpoint    = "vpc_endpoint"
	ENITypeNLB         = "network_load_balancer"
	ENIRequesterELB    = "amazon-elb"
	ENIRequesterVPCE   = "727180483921" // AWS's requester account for endpoint ENIs
	ENIStatusInUse     = "in-use"
	ENIStatusAvailable = "available"
)

// NetworkInterface is an ENI: a private IP in a subnet. Endpoints and load balancer
// nodes get requester-managed ENIs; instances get their own.
type NetworkInterface struct {
	ID               string    `json:"id"`
	Owner            string    `json:"owner"`
	VpcID            string    `json:"vpcId"`
	SubnetID         string    `json:"subnetId"`
	AZ               string    `json:"az"`
	PrivateIP        string    `json:"privateIp"`
	MAC              string    `json:"mac"`
	Description      string    `json:"description"`
	InterfaceType    string    `json:"interfaceType"`
	RequesterID      string    `json:"requesterId,omitempty"`
	RequesterManaged bool      `json:"requesterManaged"`
	Status           string    `json:"status"`
	Groups           []string  `json:"groups,omitempty"`
	AttachedTo       string    `json:"attachedTo,omitempty"` // endpoint, LB ARN or instance ID
	AttachmentID     string    `json:"attachmentId,omitempty"`
	Tags             Tags      `json:"tags,omitempty"`
	Created          time.Time `json:"created"`
}

// AvailabilityZone is one zone of the server's region.
type AvailabilityZone struct {
	Name   string
	ZoneID string
	Region string
}
