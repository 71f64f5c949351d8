package model

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// Resource kinds, used in store keys, IDs and error translation.
const (
	KindAccount        = "account"
	KindVpc            = "vpc"
	KindSubnet         = "subnet"
	KindSecurityGroup  = "sg"
	KindRule           = "sgr"
	KindENI            = "eni"
	KindInstance       = "instance"
	KindLoadBalancer   = "lb"
	KindTargetGroup    = "tg"
	KindListener       = "listener"
	KindService        = "service"
	KindEndpoint       = "endpoint"
	KindNotification   = "notification"
	KindRouteTable     = "rtb"
	KindNetworkACL     = "acl"
	KindAZ             = "az"
	KindPermission     = "permission"
	KindTarget         = "target"
	KindPrivateDNSName = "privatedns"
)

// KindNames are the words AWS uses for each kind in messages.
var KindNames = map[string]string{
	KindAccount: "account", KindVpc: "vpc", KindSubnet: "subnet", KindSecurityGroup: "security group",
	KindRule: "security group rule", KindENI: "network interface", KindInstance: "instance",
	KindLoadBalancer: "load balancer", KindTargetGroup: "target group", KindListener: "listener",
	KindService: "VPC endpoint service", KindEndpoint: "VPC endpoint", KindNotification: "connection notification",
	KindRouteTable: "route table", KindNetworkACL: "network ACL", KindAZ: "availability zone",
	KindPermission: "permission", KindTarget: "target", KindPrivateDNSName: "private DNS name",
	KindPublished: "published service",
}

// ID prefixes, as AWS writes them.
const (
	PrefixVpc          = "vpc"
	PrefixSubnet       = "subnet"
	PrefixSG           = "sg"
	PrefixRule         = "sgr"
	PrefixENI          = "eni"
	PrefixInstance     = "i"
	PrefixService      = "vpce-svc"
	PrefixEndpoint     = "vpce"
	PrefixNotification = "vpce-nfn"
	PrefixRouteTable   = "rtb"
	PrefixRTAssoc      = "rtbassoc"
	PrefixACL          = "acl"
	PrefixACLAssoc     = "aclassoc"
	PrefixCidrAssoc    = "vpc-cidr-assoc"
	PrefixDhcp         = "dopt"
	PrefixPermission   = "vpce-svc-perm"
	PrefixAttachment   = "eni-attach"
	PrefixConnection   = "vpce-con"
)

// RandomHex returns n lowercase hex digits from a cryptographic source.
func RandomHex(n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("model: reading random bytes: %v", err))
	}
	return hex.EncodeToString(b)[:n]
}

// NewID returns prefix-<17 hex digits>, the format of every EC2 resource ID.
func NewID(prefix string) string { return prefix + "-" + RandomHex(17) }

var idPattern = regexp.MustCompile(`^([a-z]+(?:-[a-z]+)*)-([0-9a-f]{8}|[0-9a-f]{17})$`)

// ValidID reports whether id has the given prefix and an 8- or 17-digit hex suffix.
func ValidID(prefix, id string) bool {
	m := idPattern.FindStringSubmatch(id)
	return m != nil && m[1] == prefix
}

// CheckID returns an ErrInvalid *Error of the given kind when id is malformed.
func CheckID(kind, prefix, id string) error {
	if !ValidID(prefix, id) {
		return InvalidKind(kind, id, "Invalid id: \"%s\"", id)
	}
	return nil
}

// AccountPattern matches a 12-digit AWS account ID.
var AccountPattern = regexp.MustCompile(`^[0-9]{12}$`)

// ELBARN builds an Elastic Load Balancing ARN; resource is for example
// "loadbalancer/net/name/0123456789abcdef".
func ELBARN(region, account, resource string) string {
	return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:%s", region, account, resource)
}

// ARNResourceID returns the last path element of an ELB ARN (the 16-hex ID), or "".
func ARNResourceID(arn string) string {
	if !strings.HasPrefix(arn, "arn:aws:elasticloadbalancing:") {
		return ""
	}
	i := strings.LastIndexByte(arn, '/')
	if i < 0 {
		return ""
	}
	id := arn[i+1:]
	if len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" {
		return ""
	}
	return id
}

// NewRequestID returns a random request ID in the UUID form AWS uses, for an API
// response and the log lines about it.
func NewRequestID() string {
	h := RandomHex(32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
