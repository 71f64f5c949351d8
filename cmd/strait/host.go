package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"strait/internal/nativeapi"
)

// hostFlags say how to reach the host registry: the admin socket of the server
// on --data-dir (the operator on the server's host), or the native API
// (--endpoint and an account's keys; the server must run with --dev until
// regions have an operator account).
type hostFlags struct {
	clientFlags
	dataDir string
}

func hostCommand() *cobra.Command {
	var f hostFlags
	cmd := &cobra.Command{
		Use:   "host",
		Short: "Manage the hosts of the region: join tokens, the host list (in progress)",
		Long: `Hosts join the region with ` + "`strait agent`" + ` and a one-time join token, and serve
availability zones. These commands are the operator's: on the server's host they go
through its admin socket (--data-dir); with --endpoint or STRAIT_ENDPOINT (or no server on
--data-dir) they call the native API, which admits any account only on a --dev server.`,
	}
	addClientFlags(cmd, &f.clientFlags)
	cmd.PersistentFlags().StringVar(&f.dataDir, "data-dir", defaultDataDir(), "the server's data directory (its admin socket)")
	refuseUnknownSubcommands(cmd)
	token := &cobra.Command{Use: "token", Short: "Manage join tokens"}
	refuseUnknownSubcommands(token)
	token.AddCommand(hostTokenCreateCommand(&f))
	cmd.AddCommand(token, hostListCommand(&f), hostRemoveCommand(&f))
	return cmd
}

func hostTokenCreateCommand(f *hostFlags) *cobra.Command {
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "create [--ttl 1h]",
		Short: "Print a one-time join token for `strait agent --token`",
		Long: `Print a one-time join token: <id>.<secret>.<ca-sha256>. One host may enrol with it
before it expires; the last part is the SHA-256 of the region's CA key, by which the agent
checks that it talks to this region's server. The server keeps only a hash of the secret.`,
		Example: `  TOKEN=$(sudo strait host token create --ttl 30m)
  strait agent --server https://SERVER:8788 --token "$TOKEN" --zones us-east-1b   # on the new host`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out nativeapi.JoinToken
			req := nativeapi.CreateJoinTokenRequest{TTLSeconds: int64(ttl / time.Second)}
			if err := f.call(cmd.Context(), http.MethodPost, "hosts/tokens", req, &out); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintln(cmd.OutOrStdout(), out.Token)
			fmt.Fprintf(cmd.ErrOrStderr(), "strait: join token %s, usable once until %s\n", out.TokenID, out.Expires.UTC().Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().DurationVar(&ttl, "ttl", nativeapi.DefaultTokenTTL, "how long the token may be used (1m to 168h)")
	return cmd
}

func hostListCommand(f *hostFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the hosts: zones, backbone, state, last report, version",
		Long: `List the hosts that joined the region, and last the server's own data plane (HOST_ID
local, -o json "server": true), which serves every zone no other host serves; its
LAST_REPORT is now and it cannot be removed. STATE is ready, or unreachable since the time it
missed its third heartbeat. METHOD is how the host's agent carries the backbone to other
hosts: wireguard (the kernel's WireGuard), wireguard-go (WireGuard in the agent's process),
plain (unencrypted, asked for with --backbone plain), or none (an agent that does not join it). KEY says whether the host
reported its WireGuard public key (-o json shows it; private keys never leave the hosts).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out nativeapi.HostList
			if err := f.call(cmd.Context(), http.MethodGet, "hosts", nil, &out); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), out)
			}
			t := newTable(cmd.OutOrStdout())
			t.row("HOST_ID", "ZONES", "BACKBONE_ADDRESS", "METHOD", "KEY", "STATE", "LAST_REPORT", "VERSION")
			for _, h := range out.Hosts {
				state := h.State
				if h.UnreachableSince != nil {
					state += " since " + h.UnreachableSince.UTC().Format(time.RFC3339)
				}
				key := "-"
				if h.BackboneKey != "" {
					key = "set"
				}
				t.row(h.HostID, strings.Join(h.Zones, ","), h.BackboneAddress, h.BackboneMethod, key, state, age(h.LastReport)+" ago", h.Version)
			}
			return t.flush()
		},
	}
}

func hostRemoveCommand(f *hostFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "remove HOST_ID",
		Short: "Remove a host: its certificate is no longer accepted, its zones are free",
		Args:  exactArgs(1, "HOST_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.call(cmd.Context(), http.MethodDelete, "hosts/"+url.PathEscape(args[0]), nil, &struct{}{}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", args[0])
			return nil
		},
	}
}

// call asks the server on --data-dir's admin socket when one answers there and
// no endpoint was given (--endpoint or STRAIT_ENDPOINT); otherwise the native
// API.
func (f *hostFlags) call(ctx context.Context, method, path string, in, out any) error {
	if err := f.checkOutput(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if f.Endpoint == "" && os.Getenv("STRAIT_ENDPOINT") == "" {
		if err := callAdmin(ctx, filepath.Join(f.dataDir, "admin.sock"), method, path, in, out); !errors.Is(err, errNoServer) {
			return err
		}
	}
	c, err := f.client()
	if err != nil {
		return fmt.Errorf("no server answers on %s and %w", filepath.Join(f.dataDir, "admin.sock"), err)
	}
	return c.do(ctx, method, path, nil, in, out)
}
