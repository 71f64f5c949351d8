package model

import (
	"strings"
	"time"
)

// Instance states, as EC2 names them. Strait's instances are never stopped.
const (
	InstancePending      = "pending"
	InstanceRunning      = "running"
	InstanceShuttingDown = "shutting-down"
	InstanceTerminated   = "terminated"
)

// instanceStateCodes are the codes EC2 gives each state (the low byte of
// InstanceState.Code).
var instanceStateCodes = map[string]int32{
	InstancePending:      0,
	InstanceRunning:      16,
	InstanceShuttingDown: 32,
	InstanceTerminated:   48,
	"stopping":           64,
	"stopped":            80,
}

// InstanceStateCode is EC2's numeric code of an instance state (-1 for an unknown one).
func InstanceStateCode(state string) int32 {
	if c, ok := instanceStateCodes[state]; ok {
		return c
	}
	return -1
}

// PrefixReservation is the prefix of reservation IDs (r-…): one RunInstances call
// launches one reservation.
const PrefixReservation = "r"

// TerminatedInstanceRetention is how long a terminated instance stays visible in
// DescribeInstances before its record is deleted (AWS keeps them about an hour).
const TerminatedInstanceRetention = time.Hour

// Instance is a workload host in a subnet. On one Linux host it is a network
// namespace with one interface (ENIID, an ENI of type "interface" attached to the
// instance) holding PrivateIP in its subnet.
type Instance struct {
	ID            string `json:"id"`
	Owner         string `json:"owner"`
	ReservationID string `json:"reservationId"`
	// AMILaunchIndex is the instance's position in its reservation, from 0.
	AMILaunchIndex int32    `json:"amiLaunchIndex"`
	VpcID          string   `json:"vpcId"`
	SubnetID       string   `json:"subnetId"`
	AZ             string   `json:"az"`
	PrivateIP      string   `json:"privateIp"`
	ENIID          string   `json:"eniId"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	ImageID        string   `json:"imageId"`
	InstanceType   string   `json:"instanceType"`
	KeyName        string   `json:"keyName,omitempty"`
	State          string   `json:"state"`
	// StateReasonCode and StateReasonMessage explain the last state change
	// (EC2's StateReason); empty while running.
	StateReasonCode    string `json:"stateReasonCode,omitempty"`
	StateReasonMessage string `json:"stateReasonMessage,omitempty"`
	// StateTransitionReason is EC2's free-text reason, e.g. "User initiated
	// (2024-05-01 12:00:00 GMT)".
	StateTransitionReason string    `json:"stateTransitionReason,omitempty"`
	LaunchTime            time.Time `json:"launchTime"`
	// TerminatedAt is when the instance reached "terminated"; the record is
	// deleted TerminatedInstanceRetention later.
	TerminatedAt   time.Time `json:"terminatedAt,omitzero"`
	PrivateDNSName string    `json:"privateDnsName"`
	ClientToken    string    `json:"clientToken,omitempty"`
	Tags           Tags      `json:"tags,omitempty"`
}

// Live reports whether the instance exists on the host or is about to: pending or
// running. A shutting-down instance is being removed; a terminated one is gone.
func (i Instance) Live() bool { return i.State == InstancePending || i.State == InstanceRunning }

// PrivateDNSName is EC2's internal host name of a private IPv4 address:
// ip-10-0-1-5.ec2.internal in us-east-1, ip-10-0-1-5.<region>.compute.internal
// elsewhere.
func PrivateDNSName(region, ip string) string {
	host := "ip-" + strings.ReplaceAll(ip, ".", "-")
	if region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + region + ".compute.internal"
}
