// Package relay runs the data plane's user-space side — the relay (a
// dataplane.Proxy and the listeners it accepts from) and the VPC resolvers —
// for the agent, in one of two places:
//
//   - Local: in the agent's own process; its connections end with it.
//   - A relay process (`strait relay`, Serve) that the server starts once per
//     data directory and finds again after a restart (Attach): the agent
//     drives it through a Client over a Unix socket in the data directory.
//     Its listeners, resolvers and relayed connections outlive the server
//     process (a restart, an upgrade, a kill -9), and the next server adopts
//     them. One that dies is replaced and given the same state again.
//
// Both implement agent.Relay. The relay process keeps the target health its
// checks see and hands it to each new client; its metrics are scraped
// through the client's collector.
package relay
