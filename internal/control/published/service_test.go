package published

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"strait/internal/control/controltest"
	"strait/internal/model"
)

// A published service takes by default the oldest subnet of each zone of its
// VPC, in creation order, and its components' targets are normalized: the
// component's port is dropped and repeats are removed.
func TestCreatePublishedService(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := testNow
	f := newFixtureClock(t, func() time.Time { // a second passes at each reading
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	})
	ctx := context.Background()
	v, subnets := f.VPC(t, provider, "10.0.0.0/16", "us-east-1a", "us-east-1b", "us-east-1a")
	svc, err := f.pub.CreatePublishedService(ctx, provider, CreatePublishedServiceInput{Name: "orders", VpcID: v.ID, Components: []model.Component{
		{Name: "mysql", Port: 3306, Targets: []string{"10.0.1.5:3306", "10.0.1.5", "10.0.2.5:3307"}, PrivateLinkAccess: true},
		{Name: "admin", Port: 8080, Targets: []string{"i-0123456789abcdef0:9090"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !svc.Created.After(subnets[2].Created) {
		t.Fatalf("created %v, before the subnets", svc.Created)
	}
	want := model.PublishedService{Name: "orders", Owner: provider, VpcID: v.ID, SubnetIDs: []string{subnets[0].ID, subnets[1].ID}, Created: svc.Created,
		Components: []model.Component{
			{Name: "mysql", Port: 3306, Targets: []string{"10.0.1.5", "10.0.2.5:3307"}, PrivateLinkAccess: true},
			{Name: "admin", Port: 8080, Targets: []string{"i-0123456789abcdef0:9090"}},
		}}
	if !reflect.DeepEqual(svc, want) {
		t.Fatalf("service\n%+v\nwant\n%+v", svc, want)
	}
	if got := controltest.Must(f.pub.PublishedService(ctx, provider, "orders"))(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("stored service %+v", got)
	}
	_, err = f.pub.CreatePublishedService(ctx, provider, CreatePublishedServiceInput{Name: "orders", VpcID: v.ID})
	controltest.WantError(t, "the name again", err, model.ErrDuplicate, "", model.ReasonPublishedServiceExists)
	for _, acct := range []string{consumer, provider} {
		_, err = f.pub.PublishedService(ctx, acct, map[string]string{consumer: "orders", provider: "Not_A_Label"}[acct])
		controltest.WantError(t, "a service the caller does not have", err, model.ErrNotFound, model.KindPublished, model.ReasonPublishedServiceNotFound)
	}
	// The same name in another account is another service.
	cv, _ := f.VPC(t, consumer, "10.0.0.0/16", "us-east-1a")
	if _, err := f.pub.CreatePublishedService(ctx, consumer, CreatePublishedServiceInput{Name: "orders", VpcID: cv.ID}); err != nil {
		t.Fatalf("the name in another account: %v", err)
	}
	if all := controltest.Must(f.pub.AllPublishedServices(ctx))(t); len(all) != 2 {
		t.Fatalf("%d services in all, want 2", len(all))
	}
	if mine := controltest.Must(f.pub.PublishedServices(ctx, provider))(t); len(mine) != 1 || mine[0].Owner != provider {
		t.Fatalf("the provider's services %+v", mine)
	}
}

// CreatePublishedService refuses bad names, components and subnets with their
// reasons, and stores nothing then.
func TestCreatePublishedServiceRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	v, subnets := f.VPC(t, provider, "10.0.0.0/16", "us-east-1a", "us-east-1a")
	empty, _ := f.VPC(t, provider, "10.1.0.0/16")
	_, far := f.VPC(t, provider, "10.2.0.0/16", "us-east-1b")
	var many []model.Component
	for i := range maxComponents + 1 {
		many = append(many, model.Component{Name: fmt.Sprintf("c%d", i), Port: int32(1000 + i)})
	}
	comp := func(c ...model.Component) CreatePublishedServiceInput {
		return CreatePublishedServiceInput{Name: "svc", VpcID: v.ID, SubnetIDs: []string{subnets[0].ID}, Components: c}
	}
	for _, bad := range []struct {
		what   string
		in     CreatePublishedServiceInput
		err    error
		kind   string
		reason model.Reason
	}{
		{"an upper-case name", CreatePublishedServiceInput{Name: "Svc", VpcID: v.ID}, model.ErrInvalid, "", ""},
		{"a name ending in -", CreatePublishedServiceInput{Name: "svc-", VpcID: v.ID}, model.ErrInvalid, "", ""},
		{"a VPC without subnets", CreatePublishedServiceInput{Name: "svc", VpcID: empty.ID}, model.ErrInvalid, "", model.ReasonSubnet},
		{"two subnets of one zone", CreatePublishedServiceInput{Name: "svc", VpcID: v.ID, SubnetIDs: []string{subnets[0].ID, subnets[1].ID}}, model.ErrInvalid, model.KindSubnet, ""},
		{"a subnet of another VPC", CreatePublishedServiceInput{Name: "svc", VpcID: v.ID, SubnetIDs: []string{far[0].ID}}, model.ErrInvalid, model.KindSubnet, ""},
		{"an unknown VPC", CreatePublishedServiceInput{Name: "svc", VpcID: "vpc-0123456789abcdef0"}, model.ErrNotFound, model.KindVpc, ""},
		{"a component name with a dot", comp(model.Component{Name: "my.sql", Port: 3306}), model.ErrInvalid, "", model.ReasonComponent},
		{"port 0", comp(model.Component{Name: "mysql"}), model.ErrInvalid, "", model.ReasonComponent},
		{"a target that is a name", comp(model.Component{Name: "mysql", Port: 3306, Targets: []string{"db.local"}}), model.ErrInvalid, "", model.ReasonTarget},
		{"a target port 0", comp(model.Component{Name: "mysql", Port: 3306, Targets: []string{"10.0.1.5:0"}}), model.ErrInvalid, "", model.ReasonTarget},
		{"a short instance ID", comp(model.Component{Name: "mysql", Port: 3306, Targets: []string{"i-123"}}), model.ErrInvalid, "", model.ReasonTarget},
		{"instances and addresses", comp(model.Component{Name: "mysql", Port: 3306, Targets: []string{"i-01234567", "10.0.1.5"}}), model.ErrInvalid, "", model.ReasonTarget},
		{"a component twice", comp(model.Component{Name: "a", Port: 1}, model.Component{Name: "a", Port: 2}), model.ErrDuplicate, "", model.ReasonComponent},
		{"a port twice", comp(model.Component{Name: "a", Port: 1}, model.Component{Name: "b", Port: 1}), model.ErrDuplicate, "", model.ReasonComponent},
		{"51 components", comp(many...), model.ErrLimit, "", model.ReasonComponent},
	} {
		_, err := f.pub.CreatePublishedService(ctx, provider, bad.in)
		controltest.WantError(t, bad.what, err, bad.err, bad.kind, bad.reason)
	}
	if all := controltest.Must(f.pub.PublishedServices(ctx, provider))(t); len(all) != 0 {
		t.Fatalf("refused requests left %+v", all)
	}
}

// UpdatePublishedService removes, then adds, then changes components by name;
// a refused update changes nothing.
func TestUpdatePublishedService(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	v, _ := f.VPC(t, provider, "10.0.0.0/16", "us-east-1a")
	controltest.Must(f.pub.CreatePublishedService(ctx, provider, CreatePublishedServiceInput{Name: "orders", VpcID: v.ID, Components: []model.Component{
		{Name: "mysql", Port: 3306, Targets: []string{"10.0.1.5"}}, {Name: "cache", Port: 6379},
	}}))(t)
	port, yes, targets := int32(3307), true, []string{"10.0.1.6:3306", "10.0.1.7"}
	svc, err := f.pub.UpdatePublishedService(ctx, provider, "orders", UpdatePublishedServiceInput{
		RemoveComponents: []string{"cache"},
		AddComponents:    []model.Component{{Name: "kafka", Port: 6379}}, // the removed component's port is free
		Components:       map[string]ComponentUpdate{"mysql": {Port: &port, Targets: &targets, PrivateLinkAccess: &yes}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []model.Component{{Name: "mysql", Port: 3307, Targets: []string{"10.0.1.6:3306", "10.0.1.7"}, PrivateLinkAccess: true}, {Name: "kafka", Port: 6379}}
	if !reflect.DeepEqual(svc.Components, want) {
		t.Fatalf("components %+v, want %+v", svc.Components, want)
	}
	for _, bad := range []struct {
		what string
		in   UpdatePublishedServiceInput
		err  error
	}{
		{"removing an unknown component", UpdatePublishedServiceInput{RemoveComponents: []string{"cache"}}, model.ErrInvalid},
		{"changing an unknown component", UpdatePublishedServiceInput{Components: map[string]ComponentUpdate{"redis": {PrivateLinkAccess: &yes}}}, model.ErrInvalid},
		{"adding a taken port", UpdatePublishedServiceInput{AddComponents: []model.Component{{Name: "redis", Port: 3307}}}, model.ErrDuplicate},
		{"a bad target", UpdatePublishedServiceInput{Components: map[string]ComponentUpdate{"kafka": {Targets: &[]string{"x"}}}}, model.ErrInvalid},
	} {
		_, err := f.pub.UpdatePublishedService(ctx, provider, "orders", bad.in)
		reason := model.ReasonComponent
		if bad.what == "a bad target" {
			reason = model.ReasonTarget
		}
		controltest.WantError(t, bad.what, err, bad.err, "", reason)
	}
	if got := controltest.Must(f.pub.PublishedService(ctx, provider, "orders"))(t); !reflect.DeepEqual(got.Components, want) {
		t.Fatalf("refused updates changed the components: %+v", got.Components)
	}
	_, err = f.pub.UpdatePublishedService(ctx, consumer, "orders", UpdatePublishedServiceInput{RemoveComponents: []string{"kafka"}})
	controltest.WantError(t, "another account updating", err, model.ErrNotFound, model.KindPublished, model.ReasonPublishedServiceNotFound)
	if err := f.pub.DeletePublishedService(ctx, provider, "orders"); err != nil {
		t.Fatal(err)
	}
	if all := controltest.Must(f.pub.PublishedServices(ctx, provider))(t); len(all) != 0 {
		t.Fatalf("after the deletion: %+v", all)
	}
	err = f.pub.DeletePublishedService(ctx, provider, "orders")
	controltest.WantError(t, "deleting again", err, model.ErrNotFound, model.KindPublished, model.ReasonPublishedServiceNotFound)
}
