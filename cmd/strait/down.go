package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"strait/internal/agent/backbone"
	"strait/internal/agent/netns"
	"strait/internal/hostagent"
	"strait/internal/relay"
)

func downCommand() *cobra.Command {
	var dataDir string
	var all bool
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Remove every namespace, interface, address and rule the server created on this host",
		Long: `Remove everything the netns data plane of the server (or ` + "`strait agent`" + `) with --data-dir
created on this host: the server's relay process (its relayed connections end), instance namespaces (their
processes are stopped first), VPC namespaces with their interfaces, addresses and nftables rules, an agent's
backbone endpoint (its namespace, and wireguard-go's configuration socket when the agent was killed), and /etc/netns entries. The state in the data directory stays: a server started again
rebuilds the data plane from it. With --all, remove what every Strait server on this host created, and stop
every relay process. Stop the server first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tag := ""
			if !all {
				if serverRunning(dataDir) || hostagent.DataDirBusy(dataDir) {
					return fmt.Errorf("a server or agent is running with data directory %s: stop it first (it would rebuild what down removes)", dataDir)
				}
				tag = netns.TagFor(dataDir)
			}
			// The relay process first: its listeners are in the namespaces.
			stopped, err := stopRelays(cmd, dataDir, all)
			if err != nil {
				return err
			}
			// With the namespaces goes a host's backbone: its endpoint
			// namespace is "strait-<tag>-backbone", its devices are in them.
			removed, err := netns.Down(tag)
			// And wireguard-go's configuration socket, left when the agent
			// was killed.
			socks, sockErr := backbone.RemoveStaleSockets(tag)
			for _, name := range append(removed, socks...) {
				fmt.Fprintln(cmd.OutOrStdout(), "removed", name)
			}
			if err = errors.Join(err, sockErr); err != nil {
				return err
			}
			if len(removed) == 0 && len(socks) == 0 && !stopped {
				fmt.Fprintln(cmd.OutOrStdout(), "nothing to remove")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "data directory of the server or agent whose data plane to remove")
	cmd.Flags().BoolVar(&all, "all", false, "remove what every Strait server on this host created")
	return cmd
}

// serverRunning reports whether a server answers on the data directory's admin socket.
func serverRunning(dataDir string) bool {
	c, err := net.DialTimeout("unix", filepath.Join(dataDir, "admin.sock"), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// stopRelays stops the relay process of dataDir, or with all every relay
// process on this host (found by their command lines: strait relay
// --data-dir DIR), and says whether it stopped any.
func stopRelays(cmd *cobra.Command, dataDir string, all bool) (any bool, err error) {
	dirs := []string{dataDir}
	if all {
		dirs = relayDataDirs()
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
	defer cancel()
	for _, dir := range dirs {
		stopped, err := relay.Stop(ctx, dir)
		if err != nil {
			return any, err
		}
		if stopped {
			any = true
			fmt.Fprintln(cmd.OutOrStdout(), "stopped the relay process of", dir)
		}
	}
	return any, nil
}

// relayDataDirs are the data directories of the relay processes running on
// this host.
func relayDataDirs() []string {
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var dirs []string
	for _, p := range cmdlines {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) < 4 || !strings.HasPrefix(filepath.Base(args[0]), "strait") || args[1] != "relay" {
			continue
		}
		for i := 2; i+1 < len(args); i++ {
			if args[i] == "--data-dir" {
				dirs = append(dirs, args[i+1])
			}
		}
	}
	return dirs
}
