// Package agent makes the host match the desired state the reconciler builds
// (State): Apply creates, changes and removes in one pass what differs from
// the last state applied — VPC and instance namespaces and ENI addresses
// (package netns), the security groups' rules (a Firewall: package firewall),
// the data plane's routing and listeners on the ENIs (package dataplane) and
// each VPC's DNS resolver at its CIDR base + 2 (package dns) — and records
// what is ready, which the reconciler reads back.
package agent
