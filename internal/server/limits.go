package server

import "time"

// The API listener's timeouts. A client that connected must send its request
// head within apiReadHeaderTimeout and the whole request within
// apiReadTimeout; an answer must be written within apiWriteTimeout; a
// keep-alive connection is closed after apiIdleTimeout without a request
// (longer than the 90 s after which the AWS SDKs' and Go's HTTP clients close
// idle connections themselves, so that a client does not reuse a connection
// the server is closing).
const (
	apiReadHeaderTimeout = 10 * time.Second
	apiReadTimeout       = 60 * time.Second
	apiWriteTimeout      = 60 * time.Second
	apiIdleTimeout       = 120 * time.Second
)

// The process's descriptors (its open-file limit, RLIMIT_NOFILE) are shared
// out so that no client can take the ones the others need (fdbudget):
//
//   - the API listener holds at most apiConnectionCap(limit) connections: a
//     40th of the limit, between 64 and 1,024 (500 at a limit of 20,000);
//   - descriptorReserve(limit) are kept free for the store, listeners, health
//     checks, DNS and splice pipes opened between two counts of the open
//     descriptors: a 32nd of the limit, at least 128 (625 at 20,000);
//   - the data plane takes the rest, two per relayed connection, and refuses
//     new connections beyond it (9,429 connections at 20,000 when the server
//     starts with its store open, less what listeners and resolvers open later).
func apiConnectionCap(limit int) int { return min(max(limit/40, 64), 1024) }

func descriptorReserve(limit int) int { return max(limit/32, 128) }
