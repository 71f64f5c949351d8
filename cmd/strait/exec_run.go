package main

import (
	"errors"
	"fmt"
	"io"
	"os/exec"

	"github.com/spf13/cobra"

	"strait/internal/agent/netns"
)

const execUsage = "\nusage: strait exec INSTANCE_ID -- COMMAND [ARG...]"

// execArgs checks `strait exec`'s arguments and says what is missing, with the usage.
func execArgs(cmd *cobra.Command, args []string) error {
	dash := cmd.ArgsLenAtDash()
	switch {
	case len(args) == 0:
		return fmt.Errorf("exec needs an instance ID, then -- and the command to run%s", execUsage)
	case dash == 0:
		return fmt.Errorf("exec needs the instance ID before --%s", execUsage)
	case dash != 1:
		return fmt.Errorf("exec needs -- between the instance ID and the command%s", execUsage)
	case len(args) < 2:
		return fmt.Errorf("exec needs a command after --%s", execUsage)
	}
	return nil
}

// execInInstance runs argv in the instance and returns the exit code to leave with.
// As a shell does, a program that cannot be found is 127 and one that cannot be
// run 126, with the reason on stderr.
func execInInstance(instanceID string, argv []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if _, err := netns.InstanceNamespace(instanceID); err != nil {
		return 0, err
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			fmt.Fprintf(stderr, "strait: exec: %s: command not found\n", argv[0])
			return 127, nil
		}
		fmt.Fprintf(stderr, "strait: exec: %v\n", err)
		return 126, nil
	}
	return netns.Exec(instanceID, argv, stdin, stdout, stderr)
}
