package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"strait/internal/control"
	"strait/internal/server"
	"strait/internal/store"
)

// accountFlags say where the accounts are: the server's data directory (its admin
// socket, or the store itself when no server runs), or an external etcd.
type accountFlags struct {
	dataDir, etcd, output string
}

func (f *accountFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.dataDir, "data-dir", defaultDataDir(), "the server's data directory")
	fl.StringVar(&f.etcd, "etcd-endpoints", "", "comma-separated URLs of an external etcd cluster")
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text or json")
}

func accountCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Manage accounts and their access keys"}
	refuseUnknownSubcommands(cmd)
	cmd.AddCommand(accountCreateCommand(), accountCreateKeyCommand(), accountListCommand())
	return cmd
}

func accountCreateCommand() *cobra.Command {
	var f accountFlags
	var id string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an account and print its ID, access key ID and secret access key",
		Long: `Create an account and its first access key. When a server runs on --data-dir, the
account is created through its admin socket; otherwise the store is opened directly.
For another key of an existing account, use ` + "`strait account create-key`" + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out server.AccountCreated
			err := f.call(cmd.Context(), http.MethodPost, "accounts?id="+url.QueryEscape(id), &out, func(ctx context.Context, ctl *control.Control) (err error) {
				out, err = server.CreateAccount(ctx, ctl, id)
				return err
			})
			if err != nil {
				return err
			}
			return printKey(cmd.OutOrStdout(), f.output, out)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&id, "id", "", "the 12-digit account ID (default: random)")
	return cmd
}

func accountCreateKeyCommand() *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "create-key ACCOUNT_ID",
		Short: "Issue another access key for an existing account",
		Long: `Issue another access key for an existing account and print it; the account's other
keys keep working.`,
		Example: `  strait account create-key 123456789012 --data-dir ./strait-data`,
		Args:    exactArgs(1, "ACCOUNT_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out server.AccountCreated
			err := f.call(cmd.Context(), http.MethodPost, "accounts/"+url.PathEscape(args[0])+"/keys", &out, func(ctx context.Context, ctl *control.Control) (err error) {
				out, err = server.CreateAccessKey(ctx, ctl, args[0])
				return err
			})
			if err != nil {
				return err
			}
			return printKey(cmd.OutOrStdout(), f.output, out)
		},
	}
	f.add(cmd)
	return cmd
}

func accountListCommand() *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the accounts and their access key IDs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out []server.AccountInfo
			err := f.call(cmd.Context(), http.MethodGet, "accounts", &out, func(ctx context.Context, ctl *control.Control) (err error) {
				out, err = server.ListAccounts(ctx, ctl)
				return err
			})
			if err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), out)
			}
			t := newTable(cmd.OutOrStdout())
			t.row("ACCOUNT_ID", "CREATED", "ACCESS_KEY_IDS")
			for _, a := range out {
				t.row(a.AccountID, a.Created.UTC().Format(time.RFC3339), strings.Join(a.AccessKeyIDs, ","))
			}
			return t.flush()
		},
	}
	f.add(cmd)
	return cmd
}

func printKey(w io.Writer, output string, out server.AccountCreated) error {
	if output == "json" {
		return printJSON(w, out)
	}
	_, err := fmt.Fprintf(w, "account_id         %s\naccess_key_id      %s\nsecret_access_key  %s\n", out.AccountID, out.AccessKeyID, out.SecretAccessKey)
	return err
}

// call asks the server on the data directory's admin socket (method and path,
// the answer decoded into out); when no server answers there, or with an
// external etcd, it opens the store and runs direct instead.
func (f *accountFlags) call(ctx context.Context, method, path string, out any, direct func(context.Context, *control.Control) error) error {
	if f.output != "text" && f.output != "json" {
		return fmt.Errorf("--output %q is not valid: use text or json", f.output)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if f.etcd == "" {
		if err := callAdmin(ctx, filepath.Join(f.dataDir, "admin.sock"), method, path, nil, out); !errors.Is(err, errNoServer) {
			return err
		}
	}
	cfg := store.Config{DataDir: f.dataDir}
	if f.etcd != "" {
		cfg.Endpoints = strings.Split(f.etcd, ",")
	}
	st, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	return direct(ctx, control.New(st, control.Config{}))
}

var errNoServer = errors.New("no server on the admin socket")

// callAdmin sends one request to a server's admin socket (in as its JSON body
// when not nil); errNoServer means none answers there.
func callAdmin(ctx context.Context, sock, method, path string, in, out any) error {
	if _, err := os.Stat(sock); err != nil {
		return errNoServer
	}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	var reqBody io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		reqBody = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://strait/"+path, reqBody)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return errNoServer
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return errors.New(strings.TrimSpace(string(body)))
	}
	return json.Unmarshal(body, out)
}
