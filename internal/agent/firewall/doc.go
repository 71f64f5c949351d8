// Package firewall turns security group rules into the nftables firewall of a
// VPC or instance namespace, and applies it.
//
// Each namespace has one table, "inet strait". Rules that admit a security
// group's members match a named set of the group's addresses (@g_<group>), and
// a VPC's addresses jump through a verdict map (@ingress) to one chain per
// distinct set of rules, so that members and addresses coming and going change
// set and map elements only: NFTables sends those changes to the kernel as
// element updates over netlink (see nftBatch). Any other change replaces the
// table atomically: the text first adds the table (so that deleting it cannot
// fail), deletes it, then declares it whole, all in one `nft -f` transaction.
// Only IPv4 is filtered; IPv6 prefixes in rules are skipped.
//
// Fake stands in for NFTables in tests that need no root: it renders the same
// rulesets and records them instead of loading them.
package firewall
