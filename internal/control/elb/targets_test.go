package elb

import (
	"testing"

	"strait/internal/model"
)

// A disabled health check makes the target unavailable, as in AWS.
func TestHealthCheckDisabledIsUnavailable(t *testing.T) {
	tg := model.TargetGroup{
		ARN:         "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/tg/0123456789abcdef",
		Targets:     []model.Target{{ID: "10.0.1.10", Port: 3306}},
		Listeners:   []string{"arn:aws:elasticloadbalancing:us-east-1:111111111111:listener/net/lb/0123456789abcdef/0123456789abcdef"},
		HealthCheck: model.HealthCheck{Enabled: false},
	}
	v := healthView{tg: tg, zones: []string{"us-east-1a"}}
	if got := v.state(tg.Targets[0]); got.State != model.TargetUnavailable || got.Reason != model.ReasonHealthCheckDisabled {
		t.Errorf("with health checks disabled: %+v", got)
	}
}
