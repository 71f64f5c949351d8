package main

import (
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

func accountCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Manage accounts and their access keys"}
	var dataDir, etcd, id, output string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an account and print its ID, access key ID and secret access key",
		Long: `Create an account and its first access key. When a server runs on --data-dir, the
account is created through its admin socket; otherwise the store is opened directly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			out, err := createAccount(ctx, dataDir, etcd, id)
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "account_id         %s\naccess_key_id      %s\nsecret_access_key  %s\n", out.AccountID, out.AccessKeyID, out.SecretAccessKey)
			return nil
		},
	}
	f := create.Flags()
	f.StringVar(&dataDir, "data-dir", defaultDataDir(), "the server's data directory")
	f.StringVar(&etcd, "etcd-endpoints", "", "comma-separated URLs of an external etcd cluster")
	f.StringVar(&id, "id", "", "the 12-digit account ID (default: random)")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.AddCommand(create)
	return cmd
}

func createAccount(ctx context.Context, dataDir, etcd, id string) (server.AccountCreated, error) {
	if etcd == "" {
		sock := filepath.Join(dataDir, "admin.sock")
		if out, err := createViaSocket(ctx, sock, id); !errors.Is(err, errNoServer) {
			return out, err
		}
	}
	cfg := store.Config{DataDir: dataDir}
	if etcd != "" {
		cfg.Endpoints = strings.Split(etcd, ",")
	}
	st, err := store.Open(ctx, cfg)
	if err != nil {
		return server.AccountCreated{}, err
	}
	defer st.Close()
	return server.CreateAccount(ctx, control.New(st, control.Config{}), id)
}

var errNoServer = errors.New("no server on the admin socket")

func createViaSocket(ctx context.Context, sock, id string) (server.AccountCreated, error) {
	var out server.AccountCreated
	if _, err := os.Stat(sock); err != nil {
		return out, errNoServer
	}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://strait/accounts?id="+url.QueryEscape(id), nil)
	if err != nil {
		return out, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return out, errNoServer
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return out, errors.New(strings.TrimSpace(string(body)))
	}
	return out, json.Unmarshal(body, &out)
}
