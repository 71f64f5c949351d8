package main

import (
	"os"

	"github.com/spf13/cobra"
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
		Args:                  execArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			code, err := execInInstance(args[0], args[1:], os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr())
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
