package awsapi

import (
	"errors"
	"net/http"

	"strait/internal/model"
)

// apiError is an error as a client sees it: an AWS code, a message and a status.
type apiError struct {
	Code    string
	Message string
	Status  int
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// ec2NotFound and ec2Malformed name the EC2 codes for missing and malformed IDs.
var ec2NotFound = map[string]string{
	model.KindVpc:           "InvalidVpcID.NotFound",
	model.KindSubnet:        "InvalidSubnetID.NotFound",
	model.KindSecurityGroup: "InvalidGroup.NotFound",
	model.KindRule:          "InvalidSecurityGroupRuleId.NotFound",
	model.KindENI:           "InvalidNetworkInterfaceID.NotFound",
	model.KindInstance:      "InvalidInstanceID.NotFound",
	model.KindService:       "InvalidVpcEndpointServiceId.NotFound",
	model.KindEndpoint:      "InvalidVpcEndpointId.NotFound",
	model.KindNotification:  "InvalidConnectionNotification",
	model.KindRouteTable:    "InvalidRouteTableID.NotFound",
	model.KindNetworkACL:    "InvalidNetworkAclID.NotFound",
	model.KindLoadBalancer:  "InvalidParameter",
	model.KindAZ:            "InvalidParameterValue",
	model.KindPermission:    "InvalidPrincipal",
}

var ec2Malformed = map[string]string{
	model.KindVpc:           "InvalidVpcID.Malformed",
	model.KindSubnet:        "InvalidSubnetID.Malformed",
	model.KindSecurityGroup: "InvalidGroupId.Malformed",
	model.KindENI:           "InvalidNetworkInterfaceID.Malformed",
	model.KindInstance:      "InvalidInstanceID.Malformed",
	model.KindEndpoint:      "InvalidVpcEndpointId.Malformed",
	model.KindService:       "InvalidVpcEndpointServiceId.Malformed",
	model.KindRouteTable:    "InvalidRouteTableId.Malformed",
	model.KindPermission:    "InvalidPrincipal",
}

// reasonCodes is the AWS error code of each domain reason. EC2 always uses it;
// ELBv2 uses it only when its model declares the code (else the sentinel and the
// resource kind decide, as for errors without a reason).
var reasonCodes = map[model.Reason]string{
	model.ReasonNextToken:                "InvalidNextToken",
	model.ReasonUnknownParameter:         "UnknownParameter",
	model.ReasonMalformedACLID:           "InvalidNetworkAclID.Malformed",
	model.ReasonAddressInUse:             "InvalidIPAddress.InUse",
	model.ReasonCannotDelete:             "CannotDelete",
	model.ReasonComponent:                "InvalidComponent",
	model.ReasonConfiguration:            "InvalidConfigurationRequest",
	model.ReasonDomainTaken:              "ConflictingDomainExists",
	model.ReasonDuplicateTagKeys:         "DuplicateTagKeys",
	model.ReasonGroupNotFound:            "InvalidGroup.NotFound",
	model.ReasonGroupsPerInterface:       "SecurityGroupsPerInterfaceLimitExceeded",
	model.ReasonIncompatibleProtocols:    "IncompatibleProtocols",
	model.ReasonInstanceLimit:            "InstanceLimitExceeded",
	model.ReasonLiveConnections:          "ExistingVpcEndpointConnections",
	model.ReasonMalformedID:              "InvalidID",
	model.ReasonMalformedImageID:         "InvalidAMIID.Malformed",
	model.ReasonMalformedRuleID:          "InvalidSecurityGroupRuleId.Malformed",
	model.ReasonNoVpc:                    "VPCIdNotSpecified",
	model.ReasonNotPermitted:             "OperationNotPermitted",
	model.ReasonParameter:                "InvalidParameter",
	model.ReasonParameterCombination:     "InvalidParameterCombination",
	model.ReasonPrefixListNotFound:       "InvalidPrefixListId.NotFound",
	model.ReasonPrincipal:                "InvalidPrincipal",
	model.ReasonPrivateLinkExists:        "InvalidPrivateLink.Duplicate",
	model.ReasonPublishedServiceExists:   "InvalidPublishedService.Duplicate",
	model.ReasonReservedGroupName:        "InvalidGroup.Reserved",
	model.ReasonRuleNotFound:             "InvalidPermission.NotFound",
	model.ReasonRulesPerGroup:            "RulesPerSecurityGroupLimitExceeded",
	model.ReasonScheme:                   "InvalidScheme",
	model.ReasonServiceName:              "InvalidServiceName",
	model.ReasonSubnet:                   "InvalidSubnet",
	model.ReasonSubnetConflict:           "InvalidSubnet.Conflict",
	model.ReasonSubnetFull:               "InsufficientFreeAddressesInSubnet",
	model.ReasonSubnetRange:              "InvalidSubnet.Range",
	model.ReasonVpcRange:                 "InvalidVpc.Range",
	model.ReasonInterfaceInUse:           "InvalidNetworkInterface.InUse",
	model.ReasonDefaultVpcExists:         "DefaultVpcAlreadyExists",
	model.ReasonNoDefaultVpc:             "DefaultVpcDoesNotExist",
	model.ReasonDefaultSubnetExists:      "DefaultSubnetAlreadyExistsInAvailabilityZone",
	model.ReasonNoDefaultSubnet:          "MissingInput",
	model.ReasonSubnetsInSameZone:        "DuplicateSubnetsInSameZone",
	model.ReasonTagLimit:                 "TagLimitExceeded",
	model.ReasonTarget:                   "InvalidTarget",
	model.ReasonTargetGroupAssociations:  "TargetGroupAssociationLimit",
	model.ReasonTokenMismatch:            "IdempotentParameterMismatch",
	model.ReasonTooManyListeners:         "TooManyListeners",
	model.ReasonTooManyTags:              "TooManyTags",
	model.ReasonTooManyTargets:           "TooManyTargets",
	model.ReasonNotificationNotFound:     "InvalidConnectionNotification",
	model.ReasonNoPrivateLink:            "InvalidPrivateLink.NotFound",
	model.ReasonPublishedServiceNotFound: "InvalidPublishedService.NotFound",
	model.ReasonEndpointGone:             "InvalidVpcEndpoint.NotFound",
	model.ReasonMalformedEndpointID:      "InvalidVpcEndpointId.Malformed",
	model.ReasonEndpointNotFound:         "InvalidVpcEndpointId.NotFound",
	model.ReasonPermissionNotFound:       "InvalidVpcEndpointServicePermissionId.NotFound",
}

// ec2Sentinel is the EC2 code of each sentinel when no kind-specific code applies.
var ec2Sentinel = []struct {
	err  error
	code string
}{
	{model.ErrMissing, "MissingParameter"},
	{model.ErrInvalid, "InvalidParameterValue"},
	{model.ErrDuplicate, "InvalidParameterValue"},
	{model.ErrInUse, "DependencyViolation"},
	{model.ErrIncorrectState, "IncorrectState"},
	{model.ErrUnauthorized, "UnauthorizedOperation"},
	{model.ErrLimit, "ResourceLimitExceeded"},
	{model.ErrUnsupported, "Unsupported"},
	{model.ErrConflict, "InvalidParameterValue"},
}

// elbByKind names ELBv2 codes for (sentinel, kind) pairs.
var elbByKind = map[error]map[string]string{
	model.ErrNotFound: {
		model.KindLoadBalancer:  "LoadBalancerNotFound",
		model.KindTargetGroup:   "TargetGroupNotFound",
		model.KindListener:      "ListenerNotFound",
		model.KindSubnet:        "SubnetNotFound",
		model.KindSecurityGroup: "InvalidSecurityGroup",
		model.KindTarget:        "InvalidTarget",
		model.KindInstance:      "InvalidTarget",
		model.KindVpc:           "ValidationError",
	},
	model.ErrDuplicate: {
		model.KindLoadBalancer: "DuplicateLoadBalancerName",
		model.KindTargetGroup:  "DuplicateTargetGroupName",
		model.KindListener:     "DuplicateListener",
	},
	model.ErrInvalid: {
		model.KindSubnet:        "InvalidSubnet",
		model.KindTarget:        "InvalidTarget",
		model.KindSecurityGroup: "InvalidSecurityGroup",
	},
}

var elbSentinel = []struct {
	err  error
	code string
}{
	{model.ErrNotFound, "ValidationError"},
	{model.ErrMissing, "ValidationError"},
	{model.ErrInvalid, "ValidationError"},
	{model.ErrDuplicate, "ValidationError"},
	{model.ErrInUse, "ResourceInUse"},
	{model.ErrIncorrectState, "OperationNotPermitted"},
	{model.ErrUnauthorized, "AccessDenied"},
	{model.ErrLimit, "TooManyLoadBalancers"},
	{model.ErrUnsupported, "InvalidConfigurationRequest"},
	{model.ErrConflict, "InvalidConfigurationRequest"},
}

// translate turns any error from control or decoding into the client's error. err
// that carries no sentinel is an internal failure.
func (a *API) translate(m *apiModel, err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var de *model.Error
	if !errors.As(err, &de) {
		return internalError()
	}
	if errors.Is(de, model.ErrUnavailable) {
		// EC2's and ELBv2's code for a temporary failure of the server; the
		// SDKs retry it.
		return &apiError{Code: "ServiceUnavailable", Message: de.Msg, Status: http.StatusServiceUnavailable}
	}
	if m.ec2() {
		return &apiError{Code: ec2Code(de), Message: de.Msg, Status: http.StatusBadRequest}
	}
	code := elbCode(m, de)
	status := m.errorStatus[code]
	if status == 0 {
		status = http.StatusBadRequest
	}
	return &apiError{Code: code, Message: de.Msg, Status: status}
}

func ec2Code(de *model.Error) string {
	if c, ok := reasonCodes[de.Reason]; ok {
		return c
	}
	switch {
	case errors.Is(de, model.ErrNotFound):
		if c, ok := ec2NotFound[de.Kind]; ok {
			return c
		}
		return "InvalidParameterValue"
	case errors.Is(de, model.ErrInvalid):
		if c, ok := ec2Malformed[de.Kind]; ok {
			return c
		}
	case errors.Is(de, model.ErrDuplicate) && de.Kind == model.KindSecurityGroup:
		return "InvalidGroup.Duplicate"
	case errors.Is(de, model.ErrDuplicate) && de.Kind == model.KindRule:
		return "InvalidPermission.Duplicate"
	}
	for _, s := range ec2Sentinel {
		if errors.Is(de, s.err) {
			return s.code
		}
	}
	return "InvalidParameterValue"
}

// elbCode is the ELBv2 code of a domain error; the code of its reason is used
// only when the ELBv2 model declares it.
func elbCode(m *apiModel, de *model.Error) string {
	if c, ok := reasonCodes[de.Reason]; ok {
		if _, known := m.errorStatus[c]; known {
			return c
		}
	}
	for sentinel, kinds := range elbByKind {
		if errors.Is(de, sentinel) {
			if c, ok := kinds[de.Kind]; ok {
				return c
			}
		}
	}
	for _, s := range elbSentinel {
		if errors.Is(de, s.err) {
			return s.code
		}
	}
	return "ValidationError"
}

// internalError is what a client sees of a failure that is not its own: an opaque
// InternalError; the log line with the request ID (in the envelope) has the cause.
func internalError() *apiError {
	return &apiError{Code: "InternalError", Message: "An internal error has occurred; the server log has the details under this request's ID", Status: http.StatusInternalServerError}
}
