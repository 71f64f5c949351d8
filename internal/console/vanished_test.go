package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"strait/internal/control"
	"strait/internal/control/controltest"
	"strait/internal/control/elb"
	"strait/internal/control/endpoints"
	"strait/internal/control/network/nettest"
	"strait/internal/control/published"
	"strait/internal/model"
)

// A page reads a resource first and what hangs off it after; a deletion that
// finishes between the two reads (the reconciler is quick, the pages poll once a
// second) must show as done, not as an error. Each case starts from the snapshot
// a page's first read returned while a forced PrivateLink deletion was under
// way, lets the deletion finish as the reconciler does (endpoint service, load
// balancer, then the resource's record), and builds the page from the snapshot:
// the interleaving that made TestConsoleGuides/Guide003 end on "Not done — The
// service 'my-kafka' has no PrivateLink resource".
func TestDeletionFinishedBetweenReads(t *testing.T) {
	ctx := context.Background()
	ctl := control.New(controltest.OpenStore(t), control.Config{})
	c, err := New(ctl, ctl, Config{})
	if err != nil {
		t.Fatal(err)
	}
	const acct = "111111111111"
	vpc, subnets := nettest.VPC(t, ctl.Network, acct, "10.0.0.0/16", "us-east-1a")
	controltest.Must(ctl.CreatePublishedService(ctx, acct, published.CreatePublishedServiceInput{Name: "orders", VpcID: vpc.ID,
		Components: []model.Component{{Name: "mysql", Port: 3306, Targets: []string{"10.0.0.10"}, PrivateLinkAccess: true}}}))(t)
	created := controltest.Must(ctl.CreatePrivateLink(ctx, acct, "orders", published.CreatePrivateLinkInput{
		Principals: []string{"arn:aws:iam::222222222222:root"}}))(t).PrivateLink.Created

	// What the reconciler makes for the resource, recorded on it: active.
	nlb := func(name string) model.LoadBalancer {
		return controltest.Must(ctl.CreateLoadBalancer(ctx, acct, elb.CreateLoadBalancerInput{
			Name: name, Type: elb.LBTypeNetwork, Scheme: elb.LBSchemeInternal, Subnets: nettest.IDs(subnets)}))(t)
	}
	lb, other := nlb("orders"), nlb("other")
	es := controltest.Must(ctl.CreateEndpointService(ctx, acct, endpoints.CreateServiceInput{NLBARNs: []string{lb.ARN}}))(t)
	if found, err := ctl.RecordPrivateLink(ctx, acct, "orders", created, func(pl *model.PrivateLink) {
		pl.LoadBalancerARN, pl.ServiceID, pl.ServiceName, pl.State = lb.ARN, es.ID, es.Name, model.PrivateLinkActive
	}); err != nil || !found {
		t.Fatalf("recording the realized resource: found %v, %v", found, err)
	}

	// The forced delete, and the pages' first reads while it is under way.
	controltest.Must(ctl.DeletePrivateLink(ctx, acct, "orders", true))(t)
	svc := controltest.Must(ctl.PublishedService(ctx, acct, "orders"))(t)
	if pl := svc.PrivateLink; pl == nil || pl.State != model.PrivateLinkDeleting || pl.ServiceID != es.ID {
		t.Fatalf("the snapshot is not of a deletion under way: %+v", pl)
	}
	lbs := controltest.Must(ctl.LoadBalancers(ctx, acct))(t)
	if len(lbs) != 2 {
		t.Fatalf("load balancers before the deletion finished: %+v", lbs)
	}

	// The deletion finishes.
	if failed, err := ctl.DeleteEndpointServices(ctx, acct, []string{es.ID}); err != nil || len(failed) > 0 {
		t.Fatalf("deleting the endpoint service: %v %+v", err, failed)
	}
	if err := ctl.DeleteLoadBalancer(ctx, acct, lb.ARN); err != nil {
		t.Fatal(err)
	}
	if err := ctl.ClearPrivateLink(ctx, acct, "orders", created); err != nil {
		t.Fatal(err)
	}

	s := &session{Account: acct, CSRF: "token"}
	page := func(t *testing.T, show func(http.ResponseWriter, *http.Request)) (*http.Response, string) {
		t.Helper()
		rec := httptest.NewRecorder()
		show(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, c.path("services/orders"), nil))
		return rec.Result(), rec.Body.String()
	}
	tab := c.path("services/orders/privatelink")

	t.Run("PrivateLinkTabShowsTheDeletionDone", func(t *testing.T) {
		resp, body := page(t, func(w http.ResponseWriter, r *http.Request) {
			c.showPrivateLinkOf(w, r, s, svc, http.StatusOK, nil, url.Values{})
		})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Create PrivateLink") || strings.Contains(body, "Not done") ||
			strings.Contains(body, `id="privatelink-state"`) {
			t.Errorf("PrivateLink tab after the deletion finished: %s\n%s", resp.Status, body)
		}
	})
	t.Run("ConnectionsTabShowsNoResource", func(t *testing.T) {
		resp, body := page(t, func(w http.ResponseWriter, r *http.Request) {
			c.showConnectionsOf(w, r, s, svc, http.StatusOK, nil, url.Values{})
		})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "no PrivateLink resource yet") || strings.Contains(body, "Not done") {
			t.Errorf("Connections tab after the deletion finished: %s\n%s", resp.Status, body)
		}
	})
	t.Run("DeleteConfirmationGoesToTheTab", func(t *testing.T) {
		resp, body := page(t, func(w http.ResponseWriter, r *http.Request) { c.confirmDeletePrivateLink(w, r, s, svc) })
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tab {
			t.Errorf("delete confirmation after the deletion finished: %s %q\n%s", resp.Status, resp.Header.Get("Location"), body)
		}
	})
	t.Run("DeleteSentAgainIsDone", func(t *testing.T) {
		resp, body := page(t, func(w http.ResponseWriter, r *http.Request) {
			r.SetPathValue("name", "orders")
			r.PostForm = url.Values{"force": {"on"}}
			c.deletePrivateLink(w, r, s)
		})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tab || !strings.Contains(s.flash, "is deleted") {
			t.Errorf("delete sent again: %s %q flash %q\n%s", resp.Status, resp.Header.Get("Location"), s.flash, body)
		}
		s.flash = ""
	})
	t.Run("LoadBalancersLeaveOutTheDeletedOne", func(t *testing.T) {
		views, err := c.loadBalancerViews(ctx, acct, lbs)
		if err != nil || len(views) != 1 || views[0].LB.ARN != other.ARN {
			t.Errorf("load balancer views after %s was deleted: %+v, %v; want only %s", lb.ARN, views, err, other.ARN)
		}
	})
}
