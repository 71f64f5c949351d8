package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"strait/internal/nativeapi"
)

func serviceCommand() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "service",
		Short: "Manage published services: named TCP services with components, in one of your VPCs",
		Long: `A published service is a named TCP service in one of your VPCs, made of components — for
example mysql, or kafka, kafka_connect, kafka_rest and schema_registry — each a port and a
set of targets (IP:PORT, IP or an instance ID). Publish it to other accounts with
` + "`strait privatelink create`" + ` and choose which components it exposes with
` + "`strait service update -c privatelink_access.COMPONENT=true`" + `.`,
	}
	addClientFlags(cmd, &f)
	refuseUnknownSubcommands(cmd)
	cmd.AddCommand(serviceCreateCommand(&f), serviceListCommand(&f), serviceGetCommand(&f),
		serviceUpdateCommand(&f), serviceDeleteCommand(&f), serviceConnectionInfoCommand(&f))
	return cmd
}

func serviceCreateCommand(f *clientFlags) *cobra.Command {
	var req nativeapi.CreateServiceRequest
	var comps, access []string
	cmd := &cobra.Command{
		Use:   "create NAME --vpc-id VPC_ID --component NAME=PORT[:TARGET,…]…",
		Short: "Create a published service",
		Long: `Create a published service in one of your VPCs. NAME is a DNS label (lowercase letters,
digits and hyphens). Each --component is NAME=PORT[:TARGET,TARGET…], where a target is
IP:PORT, IP (the component's port) or an instance ID. Without --subnet-id the service uses
one subnet of the VPC per availability zone.`,
		Example: `  strait service create my-kafka --vpc-id vpc-0abc… \
    --component kafka=9092:10.0.1.10,10.0.2.10 --component schema_registry=8081:10.0.1.12
  strait service create tidb --vpc-id vpc-0abc… --component mysql=4000:10.0.1.20 --privatelink-access mysql`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			req.Name = args[0]
			for _, spec := range comps {
				comp, err := parseComponent(spec)
				if err != nil {
					return err
				}
				req.Components = append(req.Components, comp)
			}
			for _, name := range access {
				if !enableAccess(req.Components, name) {
					return fmt.Errorf("--privatelink-access %s: no --component named %s", name, name)
				}
			}
			var svc nativeapi.Service
			if err := c.do(cmd.Context(), http.MethodPost, "services", nil, req, &svc); err != nil {
				return err
			}
			return printService(cmd.OutOrStdout(), f.output, svc)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&req.VpcID, "vpc-id", "", "the VPC the service's targets are in (required)")
	fl.StringArrayVar(&req.SubnetIDs, "subnet-id", nil, "a subnet for the service's load balancer, at most one per zone (repeatable; default: one per zone)")
	fl.StringArrayVar(&comps, "component", nil, "a component NAME=PORT[:TARGET,…] (repeatable; at least one)")
	fl.StringArrayVar(&access, "privatelink-access", nil, "enable PrivateLink access for this component at once (repeatable)")
	_ = cmd.MarkFlagRequired("vpc-id")
	_ = cmd.MarkFlagRequired("component")
	return cmd
}

// parseComponent parses NAME=PORT[:TARGET,TARGET…]; the error says which part is wrong.
func parseComponent(spec string) (nativeapi.Component, error) {
	name, rest, ok := strings.Cut(spec, "=")
	if !ok || name == "" {
		return nativeapi.Component{}, fmt.Errorf("--component %q is not valid: use NAME=PORT[:TARGET,TARGET…], e.g. mysql=3306:10.0.1.20", spec)
	}
	portStr, targets, hasTargets := strings.Cut(rest, ":")
	port, err := parsePort(portStr)
	if err != nil {
		return nativeapi.Component{}, fmt.Errorf("--component %q: %w", spec, err)
	}
	c := nativeapi.Component{Name: name, Port: port, Targets: splitList(targets)}
	if hasTargets && len(c.Targets) == 0 {
		return nativeapi.Component{}, fmt.Errorf("--component %q: the target list after the colon is empty: give targets (IP:PORT, IP or i-…), or leave out the colon to add them later", spec)
	}
	return c, nil
}

// parsePort parses a TCP port from 1 to 65535.
func parsePort(s string) (int32, error) {
	p, err := strconv.ParseUint(s, 10, 16)
	if err != nil || p == 0 {
		return 0, fmt.Errorf("the port %q is not valid: it must be a number from 1 to 65535", s)
	}
	return int32(p), nil
}

// enableAccess turns PrivateLink access on for the component named name, and
// reports whether there is one.
func enableAccess(comps []nativeapi.Component, name string) bool {
	for i := range comps {
		if comps[i].Name == name {
			comps[i].PrivateLinkAccess = true
			return true
		}
	}
	return false
}

func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func serviceListCommand(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List your published services",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out nativeapi.ServiceList
			if err := c.do(cmd.Context(), http.MethodGet, "services", nil, nil, &out); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), out)
			}
			t := newTable(cmd.OutOrStdout())
			t.row("NAME", "VPC", "COMPONENTS", "PRIVATELINK")
			for _, s := range out.Services {
				var comps []string
				for _, c := range s.Components {
					comps = append(comps, fmt.Sprintf("%s:%d", c.Name, c.Port))
				}
				pl := ""
				if s.PrivateLink != nil {
					pl = s.PrivateLink.State
				}
				t.row(s.Name, s.VpcID, strings.Join(comps, ","), pl)
			}
			return t.flush()
		},
	}
}

func serviceGetCommand(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get NAME",
		Short: "Show a published service and its components",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var svc nativeapi.Service
			if err := c.do(cmd.Context(), http.MethodGet, servicePath(args[0]), nil, nil, &svc); err != nil {
				return err
			}
			return printService(cmd.OutOrStdout(), f.output, svc)
		},
	}
}

func printService(w io.Writer, output string, s nativeapi.Service) error {
	if output == "json" {
		return printJSON(w, s)
	}
	pl := "" // printed as "-", as in `service list`
	if s.PrivateLink != nil {
		pl = s.PrivateLink.State
		if s.PrivateLink.AWSServiceName != "" {
			pl += " (" + s.PrivateLink.AWSServiceName + ")"
		}
	}
	if err := printFields(w, "name", s.Name, "owner", s.Owner, "vpc_id", s.VpcID, "subnet_ids", strings.Join(s.SubnetIDs, ","), "privatelink", pl); err != nil {
		return err
	}
	fmt.Fprintln(w)
	t := newTable(w)
	t.row("COMPONENT", "PORT", "PRIVATELINK_ACCESS", "TARGETS")
	for _, c := range s.Components {
		t.row(c.Name, strconv.Itoa(int(c.Port)), strconv.FormatBool(c.PrivateLinkAccess), strings.Join(c.Targets, ","))
	}
	return t.flush()
}

func serviceUpdateCommand(f *clientFlags) *cobra.Command {
	var sets, adds, removes, access []string
	cmd := &cobra.Command{
		Use:   "update NAME [-c KEY=VALUE]… [--add-component NAME=PORT[:TARGET,…]]… [--remove-component NAME]… [--privatelink-access NAME]…",
		Short: "Change a published service's components and their PrivateLink access",
		Long: `Change a published service's components. -c sets one value:

  privatelink_access.COMPONENT=true|false   publish the component through PrivateLink (a
                                            listener on its port) or stop publishing it
  components.COMPONENT.targets=T1,T2        replace the component's targets (IP:PORT, IP or i-…)
  components.COMPONENT.port=PORT            change the component's port

--privatelink-access NAME is short for -c privatelink_access.NAME=true.

With a PrivateLink resource, the load balancer follows within a second.`,
		Example: `  strait service update -c privatelink_access.kafka=true my-kafka
  strait service update -c components.kafka.targets=10.0.1.10,10.0.2.10 my-kafka
  strait service update --add-component kafka_rest=8082:10.0.1.13 my-kafka`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			req := nativeapi.UpdateServiceRequest{RemoveComponents: removes, Components: map[string]nativeapi.ComponentUpdate{}}
			for _, spec := range adds {
				comp, err := parseComponent(spec)
				if err != nil {
					return err
				}
				req.AddComponents = append(req.AddComponents, comp)
			}
			for _, kv := range sets {
				if err := applySetting(req.Components, kv); err != nil {
					return err
				}
			}
			for _, name := range access {
				if enableAccess(req.AddComponents, name) {
					continue
				}
				u := req.Components[name]
				u.PrivateLinkAccess = new(true)
				req.Components[name] = u
			}
			if len(req.AddComponents)+len(req.RemoveComponents)+len(req.Components) == 0 {
				return fmt.Errorf("nothing to change: give -c KEY=VALUE, --add-component, --remove-component or --privatelink-access")
			}
			var svc nativeapi.Service
			if err := c.do(cmd.Context(), http.MethodPatch, servicePath(args[0]), nil, req, &svc); err != nil {
				return err
			}
			return printService(cmd.OutOrStdout(), f.output, svc)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&sets, "config", "c", nil, "set KEY=VALUE (repeatable; see above)")
	fl.StringArrayVar(&adds, "add-component", nil, "add a component NAME=PORT[:TARGET,…] (repeatable)")
	fl.StringArrayVar(&removes, "remove-component", nil, "remove a component (repeatable)")
	fl.StringArrayVar(&access, "privatelink-access", nil, "enable PrivateLink access for this component (repeatable)")
	return cmd
}

// applySetting turns one -c KEY=VALUE into a component update.
func applySetting(updates map[string]nativeapi.ComponentUpdate, kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	k = strings.TrimPrefix(k, "user_config.")
	parts := strings.Split(k, ".")
	bad := fmt.Errorf("-c %q is not valid: use privatelink_access.COMPONENT=true|false, components.COMPONENT.targets=T1,T2 or components.COMPONENT.port=PORT", kv)
	if !ok {
		return bad
	}
	var comp, field string
	switch {
	case len(parts) == 2 && parts[0] == "privatelink_access":
		comp, field = parts[1], "privatelink_access"
	case len(parts) == 3 && parts[0] == "components":
		comp, field = parts[1], parts[2]
	default:
		return bad
	}
	u := updates[comp]
	switch field {
	case "privatelink_access":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("-c %s: the value must be true or false", kv)
		}
		u.PrivateLinkAccess = &b
	case "targets":
		t := splitList(v)
		u.Targets = &t
	case "port":
		port, err := parsePort(v)
		if err != nil {
			return fmt.Errorf("-c %s: %w", kv, err)
		}
		u.Port = &port
	default:
		return bad
	}
	updates[comp] = u
	return nil
}

func serviceDeleteCommand(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a published service (delete its PrivateLink resource first)",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), http.MethodDelete, servicePath(args[0]), nil, nil, nil); err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), map[string]string{"deleted": args[0]})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return nil
		},
	}
}

func serviceConnectionInfoCommand(f *clientFlags) *cobra.Command {
	var route string
	cmd := &cobra.Command{
		Use:   "connection-info NAME [--route privatelink|direct]",
		Short: "Show how clients reach each component: host, port and a client command",
		Long: `Show, per component, the host and port clients use on a route, with a ready-to-paste
client command for well-known components (mysql, postgresql, kafka, redis).

On the privatelink route there is one line per component and connected endpoint: the
endpoint's regional DNS name (consumers resolve it in their VPC), or the service's
private DNS name when it has a verified one. On the direct route there is one line per
target, reachable from inside the service's VPC.`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var info nativeapi.ConnectionInfo
			if err := c.do(cmd.Context(), http.MethodGet, servicePath(args[0], "connection-info"), url.Values{"route": {route}}, nil, &info); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if f.output == "json" {
				return printJSON(w, info)
			}
			kv := []string{"service", info.Service, "route", info.Route}
			if info.AWSServiceName != "" {
				kv = append(kv, "aws_service_name", info.AWSServiceName)
			}
			if info.PrivateDNSName != "" {
				kv = append(kv, "private_dns_name", info.PrivateDNSName)
			}
			if err := printFields(w, kv...); err != nil {
				return err
			}
			if len(info.Entries) > 0 {
				fmt.Fprintln(w)
				t := newTable(w)
				t.row("COMPONENT", "ENDPOINT", "HOST", "PORT", "COMMAND")
				for _, e := range info.Entries {
					t.row(e.Component, e.EndpointID, e.Host, strconv.Itoa(int(e.Port)), e.Command)
				}
				if err := t.flush(); err != nil {
					return err
				}
			}
			if info.Note != "" {
				fmt.Fprintf(w, "\n%s\n", info.Note)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&route, "route", "privatelink", "the access route: privatelink or direct")
	return cmd
}

// exactArgs requires n arguments and names them in the error.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%s takes %s (got %d arguments); see `%s --help`", cmd.CommandPath(), names, len(args), cmd.CommandPath())
		}
		return nil
	}
}
