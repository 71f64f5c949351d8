package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func loginCommand() *cobra.Command {
	var c clientConfig
	cmd := &cobra.Command{
		Use:   "login --endpoint URL --access-key-id ID --secret-access-key SECRET",
		Short: "Save the server URL and the account's credentials for the other commands",
		Long: `Save the Strait server's URL and an account's access key in the configuration file
($XDG_CONFIG_HOME/strait/config.json, usually ~/.config/strait/config.json, mode 0600).

The service and privatelink commands read their settings from flags first, then from the
environment (STRAIT_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION), then
from this file. Get an access key with ` + "`strait account create`" + ` on the server.`,
		Example: `  strait login --endpoint http://strait.example:8787 --access-key-id AKIA... --secret-access-key ...`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.Endpoint == "" || c.AccessKeyID == "" || c.SecretAccessKey == "" {
				return fmt.Errorf("give --endpoint, --access-key-id and --secret-access-key")
			}
			path, err := writeConfigFile(c)
			if err != nil {
				return fmt.Errorf("saving the configuration: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "saved %s (endpoint %s, access key %s)\n", path, c.Endpoint, c.AccessKeyID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Endpoint, "endpoint", "", "the Strait server's URL, e.g. http://127.0.0.1:8787")
	f.StringVar(&c.AccessKeyID, "access-key-id", "", "the account's access key ID")
	f.StringVar(&c.SecretAccessKey, "secret-access-key", "", "the account's secret access key")
	f.StringVar(&c.Region, "region", "", "the server's region (default us-east-1)")
	return cmd
}
