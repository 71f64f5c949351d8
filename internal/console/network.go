package console

import (
	"net/http"

	"strait/internal/model"
)

// The consumer's (and provider's) network, listed with copyable IDs.

func (c *Console) vpcsPage(w http.ResponseWriter, r *http.Request, s *session) {
	vpcs, err := c.ctl.Vpcs(r.Context(), s.Account)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "vpcs", s, view{Title: "VPCs", Nav: "vpcs", Data: vpcs})
}

func (c *Console) subnetsPage(w http.ResponseWriter, r *http.Request, s *session) {
	subnets, err := c.ctl.Subnets(r.Context(), s.Account)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "subnets", s, view{Title: "Subnets", Nav: "subnets", Data: subnets})
}

func (c *Console) securityGroupsPage(w http.ResponseWriter, r *http.Request, s *session) {
	groups, err := c.ctl.SecurityGroups(r.Context(), s.Account)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "security_groups", s, view{Title: "Security groups", Nav: "security-groups", Data: groups})
}

func (c *Console) instancesPage(w http.ResponseWriter, r *http.Request, s *session) {
	insts, err := c.ctl.Instances(r.Context(), s.Account)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	live := insts[:0:0]
	for _, i := range insts {
		if i.State != model.InstanceTerminated {
			live = append(live, i)
		}
	}
	c.render(w, r, http.StatusOK, "instances", s, view{Title: "Instances", Nav: "instances", Data: live})
}
