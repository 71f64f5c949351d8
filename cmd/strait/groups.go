package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// refuseUnknownSubcommands makes a command that only groups subcommands fail on an
// unknown one, with suggestions, as the top level does; without arguments it
// prints its help. (Cobra runs a group without Run as a request for help, so a
// misspelt subcommand would print help and exit 0.)
func refuseUnknownSubcommands(cmd *cobra.Command) {
	// The group runs only to refuse what it does not know: its help shows
	// "strait GROUP [command]" alone, as before it had a Run.
	cmd.SetUsageTemplate(strings.Replace(cmd.UsageTemplate(), "{{if .Runnable}}", "{{if and .Runnable (not .HasAvailableSubCommands)}}", 1))
	cmd.Args = cobra.ArbitraryArgs
	cmd.SuggestionsMinimumDistance = 2 // what cobra uses at the top level
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
		}
		return fmt.Errorf("%s\n\nRun '%s --help' for usage", msg, cmd.CommandPath())
	}
}
