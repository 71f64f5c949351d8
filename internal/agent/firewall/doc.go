// Package firewall turns security group rules into the nftables firewall of a
// VPC or instance namespace, and applies it.
//
// Each namespace has one table, "inet strait". Rules that admit a security
// group's members match a named set of the group's addresses (@g_<group>), and
// a VPC's addresses jump through a verdict map (@ingress) to one chain per
// distinct set of rules, so that members and addresses coming and going change
// set and map elements only: NFTables sends those changes to the kernel as
// element updates. Any other change replaces the table atomically: one
// transaction adds the table (so that deleting it cannot fail), deletes it,
// then adds it whole. Both go over netlink through google/nftables; no nft
// program runs. Only IPv4 is filtered; IPv6 prefixes in rules are skipped.
//
// A table is described once (chains of rules, each rule a list of matches) and
// rendered both as nft text, the form of the golden files and of Fake's
// rulesets, and as the library's expressions that NFTables loads. Tests check
// that the two agree: nft lists the table the library loads exactly as the
// table it loads from the text.
//
// Fake stands in for NFTables in tests that need no root: it renders the same
// rulesets and records them instead of loading them.
package firewall
