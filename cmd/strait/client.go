package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/spf13/cobra"

	"strait/internal/nativeapi"
)

// clientConfig is where the CLI finds the server and the account's credentials;
// `strait login` writes it to the config file.
type clientConfig struct {
	Endpoint        string `json:"endpoint"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	Region          string `json:"region,omitempty"`
}

// clientFlags are the connection flags every client command takes.
type clientFlags struct {
	clientConfig
	output string
}

const defaultRegion = "us-east-1"

// addClientFlags adds the connection and output flags to a command and its children.
func addClientFlags(cmd *cobra.Command, f *clientFlags) {
	p := cmd.PersistentFlags()
	p.StringVar(&f.Endpoint, "endpoint", "", "the Strait server's URL (env STRAIT_ENDPOINT; default: the file strait login writes)")
	p.StringVar(&f.AccessKeyID, "access-key-id", "", "the account's access key ID (env AWS_ACCESS_KEY_ID)")
	p.StringVar(&f.SecretAccessKey, "secret-access-key", "", "the account's secret access key (env AWS_SECRET_ACCESS_KEY)")
	p.StringVar(&f.Region, "region", "", "the server's region (env AWS_REGION; default us-east-1)")
	p.StringVarP(&f.output, "output", "o", "table", "output format: table or json")
}

// configPath is $XDG_CONFIG_HOME/strait/config.json (~/.config/strait/config.json).
func configPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the configuration directory: %w (set XDG_CONFIG_HOME or HOME)", err)
	}
	return filepath.Join(dir, "strait", "config.json"), nil
}

func readConfigFile() (clientConfig, error) {
	var c clientConfig
	path, err := configPath()
	if err != nil {
		return c, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s is not valid JSON (%v): run `strait login` again", path, err)
	}
	return c, nil
}

func writeConfigFile(c clientConfig) (string, error) {
	path, err := configPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}

// resolve merges flags, environment and the config file, in that precedence.
func (f *clientFlags) resolve() (clientConfig, error) {
	file, err := readConfigFile()
	if err != nil {
		return clientConfig{}, err
	}
	pick := func(flag, env, fromFile string) string {
		if flag != "" {
			return flag
		}
		if v := os.Getenv(env); v != "" {
			return v
		}
		return fromFile
	}
	c := clientConfig{
		Endpoint:        pick(f.Endpoint, "STRAIT_ENDPOINT", file.Endpoint),
		AccessKeyID:     pick(f.AccessKeyID, "AWS_ACCESS_KEY_ID", file.AccessKeyID),
		SecretAccessKey: pick(f.SecretAccessKey, "AWS_SECRET_ACCESS_KEY", file.SecretAccessKey),
		Region:          pick(f.Region, "AWS_REGION", file.Region),
	}
	if c.Region == "" {
		c.Region = defaultRegion
	}
	switch {
	case c.Endpoint == "":
		return c, errors.New("no Strait server given: run `strait login --endpoint URL --access-key-id ID --secret-access-key SECRET`, or pass --endpoint (or set STRAIT_ENDPOINT)")
	case c.AccessKeyID == "" || c.SecretAccessKey == "":
		return c, errors.New("no credentials: run `strait login`, pass --access-key-id and --secret-access-key, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	return c, nil
}

// checkOutput refuses unknown output formats.
func (f *clientFlags) checkOutput() error {
	if f.output != "table" && f.output != "json" {
		return fmt.Errorf("--output %q is not valid: use table or json", f.output)
	}
	return nil
}

// apiClient calls the native API with SigV4-signed requests.
type apiClient struct {
	cfg  clientConfig
	http *http.Client
}

func (f *clientFlags) client() (*apiClient, error) {
	if err := f.checkOutput(); err != nil {
		return nil, err
	}
	cfg, err := f.resolve()
	if err != nil {
		return nil, err
	}
	return &apiClient{cfg: cfg, http: &http.Client{Timeout: time.Minute}}, nil
}

// apiError is an error response of the native API.
type apiError struct {
	Status int
	nativeapi.ErrorDetail
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// do sends one request (in as the JSON body when not nil) and decodes the JSON
// response into out (when not nil).
func (c *apiClient) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	u := strings.TrimRight(c.cfg.Endpoint, "/") + "/strait/v1/" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("the endpoint %q is not a valid URL: %w", c.cfg.Endpoint, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: c.cfg.AccessKeyID, SecretAccessKey: c.cfg.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), nativeapi.SigningName, c.cfg.Region, time.Now()); err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the Strait server at %s: %w (check --endpoint or run `strait login`)", c.cfg.Endpoint, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var eb nativeapi.ErrorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error.Code == "" {
			return fmt.Errorf("the server at %s answered %s: %s (is it a Strait server?)", c.cfg.Endpoint, resp.Status, strings.TrimSpace(string(data)))
		}
		return &apiError{Status: resp.StatusCode, ErrorDetail: eb.Error}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// servicePath is the API path of a published service (plus more elements).
func servicePath(name string, more ...string) string {
	return strings.Join(append([]string{"services", url.PathEscape(name)}, more...), "/")
}
