package main

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"strait/internal/agent/netns"
)

func execCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "exec INSTANCE_ID -- COMMAND [ARG...]",
		Short: "Run a program inside an instance's network namespace",
		Long: `Run a program inside an instance's network namespace, like 'ip netns exec': it sees the
instance's interface, address and routes, and the instance's /etc/resolv.conf, which
points at the VPC's resolver. stdin, stdout, stderr and the exit code are passed through.
Needs root, on the host of the server that runs the instance.

Example:
  strait exec i-0123456789abcdef0 -- mysql -h db.example.internal -e 'SELECT 1'`,
		Args:                  cobra.MinimumNArgs(2),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 1 {
				return errors.New("usage: strait exec INSTANCE_ID -- COMMAND [ARG...] (put -- between the instance ID and the command)")
			}
			code, err := netns.Exec(args[0], args[1:], os.Stdin, os.Stdout, os.Stderr)
			if err != nil {
				return err
			}
			if code != 0 {
				os.Exit(code)
			}
			return nil
		},
	}
}
