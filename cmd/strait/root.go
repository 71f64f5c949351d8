package main

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "strait",
		Short:         "Strait: self-hosted PrivateLink with the AWS EC2 and ELBv2 APIs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serverCommand(), execCommand(), downCommand(), accountCommand(), loginCommand(), serviceCommand(), privateLinkCommand(), hostCommand(), agentCommand(), relayCommand())
	return root
}

// defaultDataDir is /var/lib/strait for root and ~/.local/state/strait otherwise.
func defaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/strait"
	}
	if dir := os.Getenv("XDG_STATE_HOME"); dir != "" {
		return filepath.Join(dir, "strait")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "strait-data"
	}
	return filepath.Join(home, ".local", "state", "strait")
}
