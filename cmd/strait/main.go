// Command strait is the Strait server and command-line tool: `strait server` runs the
// AWS-compatible PrivateLink control plane; the other verbs administer it.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := rootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "strait:", err)
		os.Exit(1)
	}
}
