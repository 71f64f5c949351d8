package awsapi_test

// goldenReview covers reads that Terraform's aws provider makes beside the main
// scenarios: the prefix list of an endpoint's service (there are none: Strait has
// no gateway endpoints) and the legacy isDefault filter of DescribeVpcs.
func goldenReview() []goldenStep {
	return []goldenStep{
		{Name: "DescribePrefixLists.by-name", Service: "ec2", Account: consumer, Action: "DescribePrefixLists",
			Params: map[string]string{"Filter.1.Name": "prefix-list-name", "Filter.1.Value.1": "com.amazonaws.us-east-1.s3"}},
		{Name: "DescribePrefixLists.error-not-found", Service: "ec2", Account: consumer, Action: "DescribePrefixLists",
			Params: map[string]string{"PrefixListId.1": "pl-63a5400a"}, Status: 400},
		{Name: "DescribeVpcs.legacy-is-default", Service: "ec2", Account: provider, Action: "DescribeVpcs",
			Params: map[string]string{"Filter.1.Name": "isDefault", "Filter.1.Value.1": "true"}},
	}
}
