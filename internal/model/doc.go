// Package model defines Strait's resources — accounts, VPCs, subnets, security groups,
// network interfaces, network load balancers, endpoint services and interface
// endpoints — with AWS's ID and ARN formats, their states, validation helpers and the
// sentinel errors that the API adapters translate into AWS error codes.
//
// The types here are what the store persists (as JSON) and what the control layer
// operates on; they carry no behaviour that depends on an API protocol.
package model
