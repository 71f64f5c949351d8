package model

// Reason is why an operation refused a request, more precisely than its sentinel.
// Each API translates it, with the sentinel and the resource kind, into its own
// error code at its edge; the operations never name a protocol's codes.
type Reason string

// The reasons the operations give.
const (
	// ReasonAddressInUse: the private address is taken.
	ReasonAddressInUse Reason = "address-in-use"
	// ReasonCannotDelete: the resource cannot be deleted.
	ReasonCannotDelete Reason = "cannot-delete"
	// ReasonComponent: a published service component is invalid.
	ReasonComponent Reason = "component"
	// ReasonConfiguration: the requested configuration is not possible.
	ReasonConfiguration Reason = "configuration"
	// ReasonDomainTaken: another endpoint of the VPC holds the private DNS name.
	ReasonDomainTaken Reason = "domain-taken"
	// ReasonDuplicateTagKeys: a tag key is given twice.
	ReasonDuplicateTagKeys Reason = "duplicate-tag-keys"
	// ReasonGroupNotFound: no such security group.
	ReasonGroupNotFound Reason = "group-not-found"
	// ReasonGroupsPerInterface: too many security groups on one interface.
	ReasonGroupsPerInterface Reason = "groups-per-interface"
	// ReasonIncompatibleProtocols: the listener and target group protocols do not match.
	ReasonIncompatibleProtocols Reason = "incompatible-protocols"
	// ReasonInstanceLimit: too many instances.
	ReasonInstanceLimit Reason = "instance-limit"
	// ReasonLiveConnections: the service still has connections.
	ReasonLiveConnections Reason = "live-connections"
	// ReasonMalformedID: a resource ID is malformed.
	ReasonMalformedID Reason = "malformed-id"
	// ReasonMalformedImageID: an image ID is malformed.
	ReasonMalformedImageID Reason = "malformed-image-id"
	// ReasonMalformedRuleID: a security group rule ID is malformed.
	ReasonMalformedRuleID Reason = "malformed-rule-id"
	// ReasonNoVpc: the request names no VPC and there is no default.
	ReasonNoVpc Reason = "no-vpc"
	// ReasonNotPermitted: the operation is not permitted in this state.
	ReasonNotPermitted Reason = "not-permitted"
	// ReasonParameter: a parameter does not apply to this request.
	ReasonParameter Reason = "parameter"
	// ReasonParameterCombination: the parameters cannot be given together.
	ReasonParameterCombination Reason = "parameter-combination"
	// ReasonPrefixListNotFound: no prefix list has the ID.
	ReasonPrefixListNotFound Reason = "prefix-list-not-found"
	// ReasonPrincipal: a principal is not a valid ARN.
	ReasonPrincipal Reason = "principal"
	// ReasonPrivateLinkExists: the service is already published through PrivateLink.
	ReasonPrivateLinkExists Reason = "private-link-exists"
	// ReasonPublishedServiceExists: a published service of that name exists.
	ReasonPublishedServiceExists Reason = "published-service-exists"
	// ReasonReservedGroupName: the security group name is reserved.
	ReasonReservedGroupName Reason = "reserved-group-name"
	// ReasonRuleNotFound: no such rule in the security group.
	ReasonRuleNotFound Reason = "rule-not-found"
	// ReasonRulesPerGroup: too many rules in one security group.
	ReasonRulesPerGroup Reason = "rules-per-group"
	// ReasonScheme: the load balancer scheme is not supported.
	ReasonScheme Reason = "scheme"
	// ReasonServiceName: no endpoint service has the name.
	ReasonServiceName Reason = "service-name"
	// ReasonSubnet: a subnet cannot be used here.
	ReasonSubnet Reason = "subnet"
	// ReasonSubnetConflict: the subnet overlaps another.
	ReasonSubnetConflict Reason = "subnet-conflict"
	// ReasonSubnetFull: the subnet has no free address.
	ReasonSubnetFull Reason = "subnet-full"
	// ReasonSubnetRange: the subnet range is outside the VPC or of the wrong size.
	ReasonSubnetRange Reason = "subnet-range"
	// ReasonDefaultVpcExists: the account already has a default VPC.
	ReasonDefaultVpcExists Reason = "default-vpc-exists"
	// ReasonNoDefaultVpc: the account has no default VPC.
	ReasonNoDefaultVpc Reason = "no-default-vpc"
	// ReasonDefaultSubnetExists: the zone already has a default subnet.
	ReasonDefaultSubnetExists Reason = "default-subnet-exists"
	// ReasonNoDefaultSubnet: the default VPC has no default subnet in the zone.
	ReasonNoDefaultSubnet Reason = "no-default-subnet"
	// ReasonInterfaceInUse: the network interface is attached.
	ReasonInterfaceInUse Reason = "interface-in-use"
	// ReasonVpcRange: the VPC's range is of the wrong size.
	ReasonVpcRange Reason = "vpc-range"
	// ReasonSubnetsInSameZone: two subnets of one zone.
	ReasonSubnetsInSameZone Reason = "subnets-in-same-zone"
	// ReasonTagLimit: an EC2 resource has too many tags.
	ReasonTagLimit Reason = "tag-limit"
	// ReasonTarget: a target is invalid for the target group.
	ReasonTarget Reason = "target"
	// ReasonTargetGroupAssociations: the target group is used by too many load balancers.
	ReasonTargetGroupAssociations Reason = "target-group-associations"
	// ReasonTokenMismatch: a client token was reused with other parameters.
	ReasonTokenMismatch Reason = "token-mismatch"
	// ReasonTooManyListeners: the load balancer has too many listeners.
	ReasonTooManyListeners Reason = "too-many-listeners"
	// ReasonTooManyTags: a load balancer resource has too many tags.
	ReasonTooManyTags Reason = "too-many-tags"
	// ReasonTooManyTargets: the target group is full.
	ReasonTooManyTargets Reason = "too-many-targets"
	// ReasonNotificationNotFound: no such connection notification.
	ReasonNotificationNotFound Reason = "notification-not-found"
	// ReasonNoPrivateLink: the published service has no PrivateLink resource.
	ReasonNoPrivateLink Reason = "no-private-link"
	// ReasonPublishedServiceNotFound: no published service has the name.
	ReasonPublishedServiceNotFound Reason = "published-service-not-found"
	// ReasonEndpointGone: the endpoint is gone.
	ReasonEndpointGone Reason = "endpoint-gone"
	// ReasonMalformedEndpointID: an endpoint ID is malformed.
	ReasonMalformedEndpointID Reason = "malformed-endpoint-id"
	// ReasonEndpointNotFound: no such endpoint.
	ReasonEndpointNotFound Reason = "endpoint-not-found"
	// ReasonPermissionNotFound: no such endpoint service permission.
	ReasonPermissionNotFound Reason = "permission-not-found"
	// ReasonNextToken: the pagination token is invalid.
	ReasonNextToken Reason = "next-token"
	// ReasonUnknownParameter: the request has a parameter the action does not take.
	ReasonUnknownParameter Reason = "unknown-parameter"
	// ReasonMalformedACLID: a network ACL ID is malformed.
	ReasonMalformedACLID Reason = "malformed-acl-id"
)
