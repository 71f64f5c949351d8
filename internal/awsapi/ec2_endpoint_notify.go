package awsapi

import (
	"context"

	"strait/internal/control/endpoints"
	"strait/internal/model"
)

func (a *API) notificationActions() map[string]handler {
	return map[string]handler{
		"CreateVpcEndpointConnectionNotification":    bind(a.createNotification),
		"DescribeVpcEndpointConnectionNotifications": bind(a.describeNotifications),
		"ModifyVpcEndpointConnectionNotification":    bind(a.modifyNotification),
		"DeleteVpcEndpointConnectionNotifications":   bind(a.deleteNotifications),
	}
}

// ConnectionNotification is the EC2 ConnectionNotification shape.
type ConnectionNotification struct {
	ConnectionNotificationId    string
	ServiceId                   string
	VpcEndpointId               string
	ConnectionNotificationType  string
	ConnectionNotificationArn   string
	ConnectionEvents            []string
	ConnectionNotificationState string
	ServiceRegion               string
}

func (a *API) toNotification(n model.ConnectionNotification) ConnectionNotification {
	return ConnectionNotification{
		ConnectionNotificationId: n.ID, ServiceId: n.ServiceID, VpcEndpointId: n.EndpointID,
		ConnectionNotificationType: "Topic", ConnectionNotificationArn: n.ARN, ConnectionEvents: nonNil(n.Events),
		ConnectionNotificationState: n.State, ServiceRegion: a.ctl.Region(),
	}
}

type createNotificationRequest struct {
	ServiceId                 string
	VpcEndpointId             string
	ConnectionNotificationArn string
	ConnectionEvents          []string
	ClientToken               string
	DryRun                    bool
}

type createNotificationResponse struct {
	ConnectionNotification ConnectionNotification
	ClientToken            string
}

func (a *API) createNotification(ctx context.Context, c *caller, req *createNotificationRequest) (*createNotificationResponse, error) {
	n, err := a.ctl.CreateConnectionNotification(ctx, c.Account, endpoints.CreateNotificationInput{
		ServiceID: req.ServiceId, EndpointID: req.VpcEndpointId, ARN: req.ConnectionNotificationArn,
		Events: req.ConnectionEvents, ClientToken: req.ClientToken,
	})
	if err != nil {
		return nil, err
	}
	return &createNotificationResponse{ConnectionNotification: a.toNotification(n), ClientToken: req.ClientToken}, nil
}

type describeNotificationsRequest struct {
	ConnectionNotificationId string
	Filters                  []Filter
	MaxResults               int32
	NextToken                string
	DryRun                   bool
}

type describeNotificationsResponse struct {
	ConnectionNotificationSet []ConnectionNotification
	NextToken                 string
}

var notificationFilters = filterFuncs[model.ConnectionNotification]{
	"connection-notification-arn":   func(n model.ConnectionNotification) []string { return []string{n.ARN} },
	"connection-notification-id":    func(n model.ConnectionNotification) []string { return []string{n.ID} },
	"connection-notification-state": func(n model.ConnectionNotification) []string { return []string{n.State} },
	"connection-notification-type":  func(n model.ConnectionNotification) []string { return []string{"Topic"} },
	"service-id":                    func(n model.ConnectionNotification) []string { return []string{n.ServiceID} },
	"vpc-endpoint-id":               func(n model.ConnectionNotification) []string { return []string{n.EndpointID} },
}

func (a *API) describeNotifications(ctx context.Context, c *caller, req *describeNotificationsRequest) (*describeNotificationsResponse, error) {
	all, err := a.ctl.ConnectionNotifications(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	var ids []string
	if req.ConnectionNotificationId != "" {
		ids = []string{req.ConnectionNotificationId}
	}
	set, next, err := describe(all, query[model.ConnectionNotification]{
		IDs: ids, Kind: model.KindNotification, IDOf: func(n model.ConnectionNotification) string { return n.ID },
		Filters: req.Filters, Funcs: notificationFilters,
		MaxResults: req.MaxResults, NextToken: req.NextToken,
	}, a.toNotification)
	if err != nil {
		return nil, err
	}
	return &describeNotificationsResponse{ConnectionNotificationSet: set, NextToken: next}, nil
}

type modifyNotificationRequest struct {
	ConnectionNotificationId  string
	ConnectionNotificationArn string
	ConnectionEvents          []string
	DryRun                    bool
}

func (a *API) modifyNotification(ctx context.Context, c *caller, req *modifyNotificationRequest) (*returnValueResponse, error) {
	if err := a.ctl.ModifyConnectionNotification(ctx, c.Account, req.ConnectionNotificationId, req.ConnectionNotificationArn, req.ConnectionEvents); err != nil {
		return nil, err
	}
	return &returnValueResponse{ReturnValue: true}, nil
}

type deleteNotificationsRequest struct {
	ConnectionNotificationIds []string
	DryRun                    bool
}

func (a *API) deleteNotifications(ctx context.Context, c *caller, req *deleteNotificationsRequest) (*unsuccessfulResponse, error) {
	failed, err := a.ctl.DeleteConnectionNotifications(ctx, c.Account, req.ConnectionNotificationIds)
	if err != nil {
		return nil, err
	}
	return &unsuccessfulResponse{Unsuccessful: unsuccessful(failed)}, nil
}
