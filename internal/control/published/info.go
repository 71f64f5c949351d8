package published

import (
	"context"
	"fmt"
	"strconv"

	"strait/internal/control/endpoints"
	"strait/internal/model"
)

// Access routes of a published service's connection information.
const (
	RoutePrivateLink = "privatelink"
	RouteDirect      = "direct"
)

// ConnectionInfo is how clients reach a published service's components on one
// route.
type ConnectionInfo struct {
	Service string
	Route   string
	// ServiceName is the endpoint service name consumers give to
	// CreateVpcEndpoint (PrivateLink route only).
	ServiceName string
	// PrivateDNSName is the service's verified private DNS name, if any.
	PrivateDNSName string
	Entries        []ConnectionEntry
	// Note explains an empty or partial answer and what to do next.
	Note string
}

// ConnectionEntry is one host and port of a component: on the PrivateLink route,
// one per connected endpoint (EndpointID) or the private DNS name; on the direct
// route, one per target.
type ConnectionEntry struct {
	Component  string
	EndpointID string
	Host       string
	Port       int32
	Command    string
}

// PublishedConnectionInfo returns the connection information of a published
// service on route ("privatelink" or "direct"; "" means privatelink).
func (c *Published) PublishedConnectionInfo(ctx context.Context, acct, name, route string) (ConnectionInfo, error) {
	svc, err := c.PublishedService(ctx, acct, name)
	if err != nil {
		return ConnectionInfo{}, err
	}
	if route == "" {
		route = RoutePrivateLink
	}
	info := ConnectionInfo{Service: name, Route: route, Entries: []ConnectionEntry{}}
	switch route {
	case RouteDirect:
		for _, comp := range svc.Components {
			for _, t := range comp.Targets {
				host, port, _ := ParseComponentTarget(t, comp.Port)
				host = c.directHost(ctx, acct, host)
				info.Entries = append(info.Entries, ConnectionEntry{Component: comp.Name, Host: host, Port: port, Command: ClientCommand(comp.Name, host, port)})
			}
		}
		info.Note = "The direct route reaches the targets from inside the service's VPC " + svc.VpcID + "."
		return info, nil
	case RoutePrivateLink:
	default:
		return info, model.Invalid("Route '%s' is not valid: use privatelink or direct", route)
	}
	if svc.PrivateLink == nil {
		info.Note = fmt.Sprintf("The service has no PrivateLink resource: create one with `strait privatelink create --principal ARN %s`.", name)
		return info, nil
	}
	info.ServiceName = svc.PrivateLink.ServiceName
	if svc.PrivateLink.ServiceID == "" {
		info.Note = "The PrivateLink resource is " + svc.PrivateLink.State + ": wait until it is active."
		return info, nil
	}
	es, err := c.pl.EndpointService(ctx, acct, svc.PrivateLink.ServiceID)
	if err != nil {
		return info, err
	}
	info.PrivateDNSName = endpoints.ServiceVerifiedName(es)
	conns, err := c.PrivateLinkConnections(ctx, acct, name)
	if err != nil {
		return info, err
	}
	for _, comp := range svc.Components {
		if !comp.PrivateLinkAccess {
			continue
		}
		if info.PrivateDNSName != "" {
			info.Entries = append(info.Entries, ConnectionEntry{Component: comp.Name, Host: info.PrivateDNSName, Port: comp.Port,
				Command: ClientCommand(comp.Name, info.PrivateDNSName, comp.Port)})
		}
		for _, pc := range conns {
			if pc.State != model.EndpointAvailable && pc.State != model.EndpointPending {
				continue
			}
			info.Entries = append(info.Entries, ConnectionEntry{Component: comp.Name, EndpointID: pc.EndpointID, Host: pc.DNSName, Port: comp.Port,
				Command: ClientCommand(comp.Name, pc.DNSName, comp.Port)})
		}
	}
	switch {
	case len(info.Entries) > 0:
	case !anyAccess(svc.Components):
		info.Note = fmt.Sprintf("No component has PrivateLink access: enable one with `strait service update -c privatelink_access.COMPONENT=true %s`.", name)
	default:
		info.Note = "No endpoint is connected yet: consumers create an interface endpoint with --service-name " + info.ServiceName + " (and you accept it when acceptance is required)."
	}
	return info, nil
}

func anyAccess(comps []model.Component) bool {
	for _, c := range comps {
		if c.PrivateLinkAccess {
			return true
		}
	}
	return false
}

// ClientCommand is a ready-to-paste client command for well-known components
// (mysql, postgresql, kafka), or "" for others.
func ClientCommand(component, host string, port int32) string {
	p := strconv.Itoa(int(port))
	switch component {
	case "mysql", "tidb", "mariadb":
		return "mysql -h " + host + " -P " + p + " -u USER -p"
	case "postgresql", "postgres", "pg", "timescale":
		return `psql "host=` + host + " port=" + p + ` user=USER dbname=DB"`
	case "kafka":
		return "kafka-console-producer --bootstrap-server " + host + ":" + p + " --topic TOPIC"
	case "redis", "valkey":
		return "redis-cli -h " + host + " -p " + p
	}
	return ""
}
