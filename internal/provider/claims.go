package provider

import apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"

// PermissionClaims are the resources the operator needs in a consumer's workspace, with
// the verbs it uses and no more. Consumers accept them when they bind.
var PermissionClaims = []apisv1alpha2.PermissionClaim{
	// TLS Secrets are written, and issuer CA Secrets and keystore passwords are read.
	{GroupResource: apisv1alpha2.GroupResource{Group: "", Resource: "secrets"},
		Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	// Events are recorded on Certificates and Issuers as cert-manager does.
	{GroupResource: apisv1alpha2.GroupResource{Group: "", Resource: "events"},
		Verbs: []string{"create", "patch", "update"}},
	{GroupResource: apisv1alpha2.GroupResource{Group: "events.k8s.io", Resource: "events"},
		Verbs: []string{"create", "patch", "update"}},
	// The cluster resource namespace (for ClusterIssuer CA Secrets) is created on onboarding.
	{GroupResource: apisv1alpha2.GroupResource{Group: "", Resource: "namespaces"},
		Verbs: []string{"get", "list", "watch", "create"}},
}
