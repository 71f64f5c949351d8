package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"strait/internal/nativeapi"
)

// waitFlags are the flags of commands that can wait for a state.
type waitFlags struct {
	wait     bool
	timeout  time.Duration
	interval time.Duration
}

func addWaitFlags(cmd *cobra.Command, w *waitFlags, what string) {
	cmd.Flags().BoolVar(&w.wait, "wait", false, "wait until "+what+", showing progress")
	cmd.Flags().DurationVar(&w.timeout, "wait-timeout", 10*time.Minute, "how long --wait waits")
	w.interval = 200 * time.Millisecond
}

func (w waitFlags) waiter(out io.Writer, what string) waiter {
	return waiter{w: out, what: what, interval: w.interval, timeout: w.timeout}
}

func privateLinkCommand() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "privatelink",
		Short: "Publish a service through PrivateLink and manage its connections",
		Long: `A PrivateLink resource publishes a published service to other accounts: Strait creates an
internal network load balancer in the service's subnets, a target group and a listener per
component with PrivateLink access, and an endpoint service that allows the given principals.
Consumers then create interface endpoints to it with the AWS CLI or SDKs.`,
	}
	addClientFlags(cmd, &f)
	refuseUnknownSubcommands(cmd)
	cmd.AddCommand(plCreateCommand(&f), plGetCommand(&f), plUpdateCommand(&f), plVerifyDNSCommand(&f), plDeleteCommand(&f),
		plConnectionsCommand(&f), plDecideCommand(&f, "accept"), plDecideCommand(&f, "reject"))
	return cmd
}

func plCreateCommand(f *clientFlags) *cobra.Command {
	var req nativeapi.CreatePrivateLinkRequest
	var w waitFlags
	cmd := &cobra.Command{
		Use:   "create --principal ARN [--principal ARN]… [--acceptance-required] [--private-dns-name NAME] [--wait] SERVICE",
		Short: "Create the PrivateLink resource of a service",
		Long: `Create the PrivateLink resource of a published service. It starts in state creating and
becomes active, with aws_service_id and aws_service_name set, once its endpoint service is
available. A principal is arn:aws:iam::ACCOUNT_ID:root (a whole account), :user/NAME,
:role/NAME, or * (everyone). With --acceptance-required, each new endpoint waits in
pendingAcceptance until you run ` + "`strait privatelink accept`" + `.

With --private-dns-name (for example db.example.com), consumers who enable private DNS on
their endpoints reach the service by that name, once you have proved you own it: publish
the TXT record ` + "`strait privatelink get`" + ` shows, then run ` + "`strait privatelink verify-dns`" + `.`,
		Example: `  strait privatelink create --principal arn:aws:iam::012345678901:user/mwf --wait my-kafka
  aws ec2 create-vpc-endpoint --vpc-endpoint-type Interface ... \
    --service-name "$(strait privatelink get my-kafka aws_service_name)"`,
		Args: exactArgs(1, "SERVICE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var pl nativeapi.PrivateLink
			if err := c.do(cmd.Context(), http.MethodPost, servicePath(args[0], "privatelink"), nil, req, &pl); err != nil {
				return err
			}
			if w.wait {
				if pl, err = waitPrivateLink(cmd.Context(), c, args[0], w.waiter(cmd.ErrOrStderr(), "state active")); err != nil {
					return err
				}
			}
			return printPrivateLink(cmd.OutOrStdout(), f.output, pl)
		},
	}
	cmd.Flags().StringArrayVar(&req.Principals, "principal", nil, "an allowed principal ARN (repeatable; at least one)")
	cmd.Flags().BoolVar(&req.AcceptanceRequired, "acceptance-required", false, "new endpoints wait in pendingAcceptance until strait privatelink accept")
	cmd.Flags().StringVar(&req.PrivateDNSName, "private-dns-name", "", "the DNS name consumers use for the service once verified")
	_ = cmd.MarkFlagRequired("principal")
	addWaitFlags(cmd, &w, "the resource is active")
	return cmd
}

// waitPrivateLink polls until the resource is active; failed is an error.
func waitPrivateLink(ctx context.Context, c *apiClient, name string, wt waiter) (nativeapi.PrivateLink, error) {
	var pl nativeapi.PrivateLink
	err := wt.wait(ctx, func() (string, bool, error) {
		if err := c.do(ctx, http.MethodGet, servicePath(name, "privatelink"), nil, nil, &pl); err != nil {
			return "", false, err
		}
		if pl.State == "failed" {
			return pl.State, false, errors.New(pl.StateMessage)
		}
		return pl.State, pl.State == "active", nil
	})
	return pl, err
}

// plFields are the fields `privatelink get SERVICE FIELD` prints, in table order.
var plFields = []string{"state", "state_message", "aws_service_id", "aws_service_name", "principals", "acceptance_required",
	"private_dns_name", "private_dns_state", "private_dns_txt_record", "private_dns_detail", "private_dns_verification",
	"load_balancer_arn", "target_groups", "listeners", "created"}

func printPrivateLink(w io.Writer, output string, pl nativeapi.PrivateLink) error {
	if output == "json" {
		return printJSON(w, pl)
	}
	kv := []string{"state", pl.State, "state_message", pl.StateMessage, "aws_service_id", pl.AWSServiceID, "aws_service_name", pl.AWSServiceName,
		"principals", strings.Join(pl.Principals, ","), "acceptance_required", fmt.Sprint(pl.AcceptanceRequired),
		"private_dns_name", pl.PrivateDNSName}
	if v := pl.PrivateDNSVerification; v != nil {
		kv = append(kv, "private_dns_state", v.State, "private_dns_txt_record", txtRecord(pl))
		if v.Detail != "" {
			kv = append(kv, "private_dns_detail", v.Detail)
		}
	}
	kv = append(kv, "load_balancer_arn", pl.LoadBalancerARN, "listeners", strings.Join(sortedMapKeys(pl.Listeners), ","),
		"created", pl.Created.UTC().Format(time.RFC3339))
	return printFields(w, kv...)
}

// txtRecord is the DNS record that proves the provider owns the private DNS name,
// as one line to publish: NAME TXT "VALUE" ("" without a private DNS name).
func txtRecord(pl nativeapi.PrivateLink) string {
	v := pl.PrivateDNSVerification
	if v == nil {
		return ""
	}
	return v.Name + "." + strings.TrimPrefix(pl.PrivateDNSName, "*.") + " " + v.Type + " " + strconv.Quote(v.Value)
}

// derivedField is a field the table shows that is not a member of the resource's
// JSON: the private DNS verification's state, record and detail.
func derivedField(pl nativeapi.PrivateLink, field string) (string, bool) {
	v := pl.PrivateDNSVerification
	if v == nil {
		v = &nativeapi.DNSVerification{}
	}
	switch field {
	case "private_dns_state":
		return v.State, true
	case "private_dns_txt_record":
		return txtRecord(pl), true
	case "private_dns_detail":
		return v.Detail, true
	}
	return "", false
}

func sortedMapKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func plGetCommand(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get SERVICE [FIELD]",
		Short: "Show a service's PrivateLink resource, or just one field of it",
		Long: `Show a service's PrivateLink resource. With FIELD, print only that value, for scripts:
` + strings.Join(plFields, ", ") + `.
List fields print one value per line. private_dns_txt_record is the record to publish in
your DNS before ` + "`strait privatelink verify-dns`" + `: NAME TXT "VALUE".`,
		Example: `  strait privatelink get my-kafka
  strait privatelink get my-kafka aws_service_name
  strait privatelink get my-kafka private_dns_txt_record`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var pl nativeapi.PrivateLink
			if err := c.do(cmd.Context(), http.MethodGet, servicePath(args[0], "privatelink"), nil, nil, &pl); err != nil {
				return err
			}
			if len(args) == 1 {
				return printPrivateLink(cmd.OutOrStdout(), f.output, pl)
			}
			return printField(cmd.OutOrStdout(), f.output, pl, args[1])
		},
	}
}

// printField prints one field of the resource: a string as is, a list one item
// per line, a map as KEY=VALUE lines, anything else as JSON.
func printField(w io.Writer, output string, pl nativeapi.PrivateLink, field string) error {
	if v, ok := derivedField(pl, field); ok {
		if output == "json" {
			return printJSON(w, v)
		}
		_, err := fmt.Fprintln(w, v)
		return err
	}
	b, err := json.Marshal(pl)
	if err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	raw, ok := m[field]
	if !ok {
		if !slices.Contains(plFields, field) {
			return fmt.Errorf("unknown field %q: use one of %s", field, strings.Join(plFields, ", "))
		}
		raw = json.RawMessage(`""`)
	}
	if output == "json" {
		return printJSON(w, raw)
	}
	var s string
	var list []string
	var kv map[string]string
	switch {
	case json.Unmarshal(raw, &s) == nil:
		_, err = fmt.Fprintln(w, s)
	case json.Unmarshal(raw, &list) == nil:
		for _, v := range list {
			fmt.Fprintln(w, v)
		}
	case json.Unmarshal(raw, &kv) == nil:
		for _, k := range sortedMapKeys(kv) {
			fmt.Fprintf(w, "%s=%s\n", k, kv[k])
		}
	default:
		_, err = fmt.Fprintln(w, string(raw))
	}
	return err
}

func plUpdateCommand(f *clientFlags) *cobra.Command {
	var principals []string
	var dnsName string
	var removeDNS bool
	cmd := &cobra.Command{
		Use:   "update [--principal ARN]… [--private-dns-name NAME | --remove-private-dns-name] SERVICE",
		Short: "Change the PrivateLink resource: --principal REPLACES the whole list of allowed principals",
		Long: `Change a service's PrivateLink resource.

--principal replaces the allowed principals with exactly the values given. This REPLACES
THE WHOLE LIST: a principal you do not repeat is removed, and its accounts can no longer
see the service or create endpoints to it (existing connections stay up; reject them with
` + "`strait privatelink reject`" + `). Without --principal the list is left alone.

To add a principal and keep the existing ones, repeat them:

  strait privatelink get SERVICE principals     # the current list, one per line
  strait privatelink update $(strait privatelink get SERVICE principals | sed 's/^/--principal /') \
    --principal arn:aws:iam::210987654321:root SERVICE

--private-dns-name sets the name consumers' endpoints answer for (verify it with
` + "`strait privatelink verify-dns`" + `); --remove-private-dns-name removes it.`,
		Example: `  strait privatelink update --principal arn:aws:iam::012345678901:root \
    --principal arn:aws:iam::210987654321:role/app my-kafka
  strait privatelink update --private-dns-name kafka.example.com my-kafka`,
		Args: exactArgs(1, "SERVICE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var req nativeapi.UpdatePrivateLinkRequest
			if cmd.Flags().Changed("principal") {
				if principals == nil {
					principals = []string{}
				}
				req.Principals = &principals
			}
			switch {
			case removeDNS && dnsName != "":
				return errors.New("give --private-dns-name or --remove-private-dns-name, not both")
			case removeDNS:
				req.PrivateDNSName = new(string)
			case dnsName != "":
				req.PrivateDNSName = &dnsName
			}
			if req.Principals == nil && req.PrivateDNSName == nil {
				return errors.New("nothing to change: give --principal (it replaces the whole list), --private-dns-name or --remove-private-dns-name")
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			var pl nativeapi.PrivateLink
			if err := c.do(cmd.Context(), http.MethodPatch, servicePath(args[0], "privatelink"), nil, req, &pl); err != nil {
				return err
			}
			return printPrivateLink(cmd.OutOrStdout(), f.output, pl)
		},
	}
	cmd.Flags().StringArrayVar(&principals, "principal", nil, "an allowed principal ARN (repeatable); the list given replaces the current one")
	cmd.Flags().StringVar(&dnsName, "private-dns-name", "", "set the private DNS name")
	cmd.Flags().BoolVar(&removeDNS, "remove-private-dns-name", false, "remove the private DNS name")
	return cmd
}

func plVerifyDNSCommand(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "verify-dns SERVICE",
		Short: "Check the TXT record that proves you own the private DNS name",
		Long: `Look up the TXT record that proves you own the PrivateLink resource's private DNS name
(shown as private_dns_txt_record by ` + "`strait privatelink get`" + `). Once verified, consumers'
endpoints with private DNS enabled answer for the name. On failure, private_dns_detail says
which record was expected and what the resolver answered; fix the record and run it again.`,
		Example: `  strait privatelink get my-db private_dns_txt_record
  strait privatelink verify-dns my-db`,
		Args: exactArgs(1, "SERVICE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var pl nativeapi.PrivateLink
			if err := c.do(cmd.Context(), http.MethodPost, servicePath(args[0], "privatelink", "verify-dns"), nil, nil, &pl); err != nil {
				return err
			}
			if err := printPrivateLink(cmd.OutOrStdout(), f.output, pl); err != nil {
				return err
			}
			if v := pl.PrivateDNSVerification; v != nil && v.State != "verified" {
				return fmt.Errorf("%s is %s: %s", pl.PrivateDNSName, v.State, v.Detail)
			}
			return nil
		},
	}
}

func plDeleteCommand(f *clientFlags) *cobra.Command {
	var force bool
	var w waitFlags
	cmd := &cobra.Command{
		Use:   "delete [--force] [--wait] SERVICE",
		Short: "Delete a service's PrivateLink resource and everything it created",
		Long: `Delete a service's PrivateLink resource: its endpoint service, load balancer, listeners
and target groups. It refuses while connections are pendingAcceptance, pending or available;
--force rejects them first. The resource shows state deleting until it is gone.`,
		Args: exactArgs(1, "SERVICE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if force {
				q.Set("force", "true")
			}
			var pl nativeapi.PrivateLink
			if err := c.do(cmd.Context(), http.MethodDelete, servicePath(args[0], "privatelink"), q, nil, &pl); err != nil {
				return err
			}
			if w.wait {
				err := w.waiter(cmd.ErrOrStderr(), "deletion").wait(cmd.Context(), func() (string, bool, error) {
					var cur nativeapi.PrivateLink
					err := c.do(cmd.Context(), http.MethodGet, servicePath(args[0], "privatelink"), nil, nil, &cur)
					var ae *apiError
					if errors.As(err, &ae) && ae.Code == "InvalidPrivateLink.NotFound" {
						return "deleted", true, nil
					}
					return cur.State, false, err
				})
				if err != nil {
					return err
				}
				pl.State = "deleted"
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), pl)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: PrivateLink resource %s\n", args[0], pl.State)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "reject live connections, then delete")
	addWaitFlags(cmd, &w, "everything is deleted")
	return cmd
}

func plConnectionsCommand(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "connections SERVICE",
		Short: "List the endpoints connected to a service: ID, owner, state, age, traffic",
		Long: `List the consumer endpoints connected to a service's PrivateLink resource, oldest first.
OPEN is the number of connections open now, CONNS the connections carried since the
endpoint was created, IN the bytes from consumers and OUT the bytes to them. The data
plane reports them every few seconds; "—" means no report (no traffic yet, or the
server runs with --dataplane=none).`,
		Args: exactArgs(1, "SERVICE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out nativeapi.ConnectionList
			if err := c.do(cmd.Context(), http.MethodGet, servicePath(args[0], "privatelink", "connections"), nil, nil, &out); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), out)
			}
			t := newTable(cmd.OutOrStdout())
			t.row("ENDPOINT_ID", "OWNER", "STATE", "AGE", "OPEN", "CONNS", "IN", "OUT", "DNS_NAME")
			for _, c := range out.Connections {
				open, conns, in, out := "—", "—", "—", "—"
				if tr := c.Traffic; tr != nil {
					open, conns = strconv.FormatInt(tr.ActiveConnections, 10), strconv.FormatUint(tr.Connections, 10)
					in, out = byteSize(tr.BytesIn), byteSize(tr.BytesOut)
				}
				t.row(c.EndpointID, c.Owner, c.State, age(c.Created), open, conns, in, out, c.DNSName)
			}
			return t.flush()
		},
	}
}

func plDecideCommand(f *clientFlags, verb string) *cobra.Command {
	var w waitFlags
	short := "Accept endpoints waiting in pendingAcceptance"
	if verb == "reject" {
		short = "Reject endpoints: no traffic flows through them (their owners delete them)"
	}
	cmd := &cobra.Command{
		Use:   verb + " SERVICE VPCE_ID…",
		Short: short,
		Example: fmt.Sprintf(`  strait privatelink connections my-db
  strait privatelink %s my-db vpce-0123456789abcdef0`, verb),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return fmt.Errorf("%s takes SERVICE and at least one VPCE_ID; list them with `strait privatelink connections SERVICE`", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			ids := args[1:]
			var res nativeapi.ConnectionsResult
			if err := c.do(cmd.Context(), http.MethodPost, servicePath(args[0], "privatelink", "connections", verb), nil,
				nativeapi.ConnectionsRequest{EndpointIDs: ids}, &res); err != nil {
				return err
			}
			var ok []string
			for _, id := range ids {
				if !slices.ContainsFunc(res.Failed, func(fi nativeapi.FailedItem) bool { return fi.EndpointID == id }) {
					ok = append(ok, id)
				}
			}
			if w.wait && verb == "accept" && len(ok) > 0 {
				if err := waitAvailable(cmd.Context(), c, args[0], ok, w.waiter(cmd.ErrOrStderr(), "available connections")); err != nil {
					return err
				}
			}
			if f.output == "json" {
				if err := printJSON(cmd.OutOrStdout(), res); err != nil {
					return err
				}
			} else {
				for _, id := range ok {
					fmt.Fprintf(cmd.OutOrStdout(), "%sed %s\n", strings.TrimSuffix(verb, "e"), id)
				}
				for _, fi := range res.Failed {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s: %s\n", fi.EndpointID, fi.Code, fi.Message)
				}
			}
			if len(res.Failed) > 0 {
				return fmt.Errorf("%d of %d endpoints could not be %sed; see `strait privatelink connections %s`", len(res.Failed), len(ids), strings.TrimSuffix(verb, "e"), args[0])
			}
			return nil
		},
	}
	if verb == "accept" {
		addWaitFlags(cmd, &w, "the endpoints are available")
	}
	return cmd
}

// waitAvailable polls the connections until every endpoint of ids is available.
func waitAvailable(ctx context.Context, c *apiClient, name string, ids []string, wt waiter) error {
	return wt.wait(ctx, func() (string, bool, error) {
		var out nativeapi.ConnectionList
		if err := c.do(ctx, http.MethodGet, servicePath(name, "privatelink", "connections"), nil, nil, &out); err != nil {
			return "", false, err
		}
		var states []string
		done := true
		for _, id := range ids {
			state := "missing"
			for _, conn := range out.Connections {
				if conn.EndpointID == id {
					state = conn.State
				}
			}
			if state == "rejected" || state == "failed" || state == "missing" {
				return "", false, fmt.Errorf("endpoint %s is %s", id, state)
			}
			done = done && state == "available"
			states = append(states, id+" "+state)
		}
		return strings.Join(states, ", "), done, nil
	})
}
