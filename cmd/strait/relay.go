package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"strait/internal/relay"
)

func relayCommand() *cobra.Command {
	var dataDir string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "Run the user-space relay of a server's data plane (the server starts it)",
		Long: `Run the relay process of the server (or agent) with --data-dir: the listeners of the endpoints and load
balancer nodes the kernel path does not carry (PROXY v2 target groups, strait.relay.enabled,
--forwarding relay), their relayed connections, the target groups' health checks and the VPC
resolvers. 'strait server' (and 'strait agent') starts it once and finds it again when it restarts, so that a restart, an
upgrade or a crash of the server does not end the relayed connections; it answers the server on
relay.sock in the data directory and logs to relay.log there. 'strait down' stops it; SIGTERM
stops it too (its connections end), and the running server then starts another.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := newLogger(verbose)
			// A session of its own (the server starts it so): SIGHUP of a
			// terminal does not reach it; SIGTERM and SIGINT stop it.
			signal.Ignore(syscall.SIGHUP)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return relay.Serve(ctx, relay.ServeConfig{DataDir: dataDir, Version: version(), Logger: log})
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "data directory of the server (or agent) whose relay this is")
	cmd.Flags().BoolVar(&verbose, "verbose", false, "log at debug level")
	return cmd
}
