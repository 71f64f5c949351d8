package model

import (
	"strings"
	"testing"
)

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID(PrefixEndpoint)
		if !ValidID(PrefixEndpoint, id) || len(id) != len("vpce-")+17 || seen[id] {
			t.Fatalf("bad or repeated ID %q", id)
		}
		seen[id] = true
	}
	for _, c := range []struct {
		prefix, id string
		ok         bool
	}{
		{PrefixVpc, "vpc-0123456789abcdef0", true},
		{PrefixVpc, "vpc-01234567", true},
		{PrefixVpc, "vpc-0123456789ABCDEF0", false},
		{PrefixVpc, "subnet-0123456789abcdef0", false},
		{PrefixService, "vpce-svc-0123456789abcdef0", true},
		{PrefixEndpoint, "vpce-svc-0123456789abcdef0", false},
		{PrefixVpc, "vpc-123", false},
	} {
		if ValidID(c.prefix, c.id) != c.ok {
			t.Errorf("ValidID(%s, %s) != %v", c.prefix, c.id, c.ok)
		}
	}
}

func TestARNResourceID(t *testing.T) {
	arn := ELBARN("us-east-1", "111122223333", "loadbalancer/net/my-nlb/50dc6c495c0c9188")
	if !strings.HasPrefix(arn, "arn:aws:elasticloadbalancing:us-east-1:111122223333:") || ARNResourceID(arn) != "50dc6c495c0c9188" {
		t.Fatalf("%s → %q", arn, ARNResourceID(arn))
	}
	for _, bad := range []string{"", "arn:aws:ec2:us-east-1:1:vpc/vpc-1", "arn:aws:elasticloadbalancing:r:a:loadbalancer/net/x/XYZ", "arn:aws:elasticloadbalancing:r:a:loadbalancer/net/x/50dc6c495c0c918"} {
		if ARNResourceID(bad) != "" {
			t.Errorf("ARNResourceID(%q) = %q", bad, ARNResourceID(bad))
		}
	}
}
