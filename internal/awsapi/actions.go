package awsapi

// ec2Actions is every EC2 action Strait serves, by name.
func (a *API) ec2Actions() map[string]handler {
	return merge(
		a.vpcActions(),
		a.defaultVpcActions(),
		a.subnetActions(),
		a.subnetAttributeActions(),
		a.privateLinkActions(),
		a.sgActions(),
		a.sgRuleUpdateActions(),
		a.tagActions(),
		a.networkActions(),
		a.eniActions(),
		a.prefixListActions(),
		a.accountActions(),
		a.instanceActions(),
	)
}

// elbActions is every ELBv2 action Strait serves, by name.
func (a *API) elbActions() map[string]handler {
	return merge(
		a.loadBalancerActions(),
		a.loadBalancerUpdateActions(),
		a.targetGroupActions(),
		a.targetActions(),
		a.listenerActions(),
		a.listenerAttributeActions(),
		a.elbTagActions(),
	)
}
