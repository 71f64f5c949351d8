// Command strait-bench measures Strait's data and control planes side by side with
// the direct path and with HAProxy (issue 5), on one host, as root.
//
// It has two roles in one binary:
//
//	strait-bench run [--quick] [--out DIR] [--only FIGS] [--hold] [--soak] [--strait PATH]
//	strait-bench peer server|bulk|rr|cps|hold [flags]
//
// "run" is the driver: it starts a real `strait server --dev` with the netns data
// plane as a subprocess, builds a provider/consumer topology with aws-sdk-go-v2,
// runs the peers inside instance namespaces (`strait exec INSTANCE -- strait-bench
// peer …`) over each path — loopback, direct between two provider instances,
// through the endpoint with and without PROXY v2, and through HAProxy in the
// provider VPC namespace — and writes latest.md, latest.json and SVG plots to the
// output directory. Figure 8 runs a server and two `strait agent` processes in
// network namespaces standing in for machines and measures the endpoint path
// across the backbone against direct traffic across the same hosts (hosts.md).
// Figure 9 restarts the server (SIGTERM; kill -9) with clients on the kernel
// path and the relay, which keep their connections across it.
// It removes everything it created, also on failure and Ctrl-C.
//
// "peer" is the traffic end: an echo/sink server, or one client measurement that
// prints a single JSON line (see peer_server.go and peer_client.go).
//
// bench/run builds both binaries and runs the driver.
package main

import (
	"fmt"
	"os"
)

// main dispatches the run and peer roles.
func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runDriver(os.Args[2:])
	case "peer":
		if len(os.Args) < 3 {
			usage()
		}
		err = runPeer(os.Args[2], os.Args[3:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "strait-bench:", err)
		os.Exit(1)
	}
}

// usage prints the command lines and exits 2.
func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  strait-bench run [--quick] [--out DIR] [--only FIGS (1–10)] [--hold] [--soak [--soak-idle N] [--soak-workers N] [--soak-duration D] [--soak-path kernel|relay]] [--strait PATH]
  strait-bench peer server --listen ADDR [--proxy-v2] [--id C]
  strait-bench peer bulk --addr ADDR --streams N --duration D
  strait-bench peer rr --addr ADDR --count N --size BYTES
  strait-bench peer cps --addr ADDR --conc N --duration D (0: until stdin closes)
  strait-bench peer hold --addr ADDR --count N [--reopen] (holds until stdin closes)
  strait-bench peer echoes --addr ADDR --count N (each stdin line checks that they echo)`)
	os.Exit(2)
}
