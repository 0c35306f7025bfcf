package exportgen

import (
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// Overlay is what this provider adds to cert-manager's own schemas: CEL rules that reject
// at admission what cert-manager's validating webhook rejects. kcp applies
// x-kubernetes-validations of an APIResourceSchema to objects in every bound workspace,
// so no code runs in the provider workspace for this. The rules are reviewed by hand
// here; the rest of each schema is upstream's, unchanged (a test checks both).
var Overlay = map[string][]apiextensionsv1.ValidationRule{
	"certificates": {
		{
			Rule:    "!has(self.duration) || duration(self.duration) >= duration('1h')",
			Message: "spec.duration must be at least 1h",
		},
		{
			Rule:    "!has(self.renewBefore) || duration(self.renewBefore) < (has(self.duration) ? duration(self.duration) : duration('2160h'))",
			Message: "spec.renewBefore must be shorter than spec.duration (90 days when not set)",
		},
		{
			Rule: "has(self.commonName) || has(self.literalSubject) || (has(self.dnsNames) && size(self.dnsNames) > 0) || " +
				"(has(self.uris) && size(self.uris) > 0) || (has(self.ipAddresses) && size(self.ipAddresses) > 0) || " +
				"(has(self.emailAddresses) && size(self.emailAddresses) > 0) || (has(self.otherNames) && size(self.otherNames) > 0)",
			Message: "at least one of spec.commonName, spec.literalSubject, spec.dnsNames, spec.uris, spec.ipAddresses, spec.emailAddresses or spec.otherNames must be set",
		},
		{
			Rule: "(has(self.issuerRef.group) && self.issuerRef.group != '' && self.issuerRef.group != 'cert-manager.io') || " +
				"!has(self.issuerRef.kind) || self.issuerRef.kind in ['', 'Issuer', 'ClusterIssuer']",
			Message: "spec.issuerRef.kind must be Issuer or ClusterIssuer for the cert-manager.io group",
		},
		{
			Rule: "!has(self.privateKey) || !has(self.privateKey.size) || self.privateKey.size == 0 || " +
				"(has(self.privateKey.algorithm) && self.privateKey.algorithm == 'Ed25519') || " +
				"(has(self.privateKey.algorithm) && self.privateKey.algorithm == 'ECDSA' ? self.privateKey.size in [256, 384, 521] : " +
				"self.privateKey.size >= 2048 && self.privateKey.size <= 8192)",
			Message: "spec.privateKey.size must be 2048 to 8192 for RSA, or 256, 384 or 521 for ECDSA",
		},
		{
			Rule:    "!has(self.secretTemplate) || !has(self.secretTemplate.annotations) || self.secretTemplate.annotations.all(k, !k.startsWith('cert-manager.io/'))",
			Message: "spec.secretTemplate.annotations must not set cert-manager.io/ annotations",
		},
	},
	"issuers":        issuerRules,
	"clusterissuers": issuerRules,
}

var issuerRules = []apiextensionsv1.ValidationRule{{
	Rule:    "[has(self.acme), has(self.ca), has(self.vault), has(self.selfSigned), has(self.venafi)].filter(x, x).size() == 1",
	Message: "exactly one of spec.acme, spec.ca, spec.vault, spec.selfSigned or spec.venafi must be set",
}}

// applyOverlay adds the overlay's rules to the spec of every served version of crd.
func applyOverlay(crd *apiextensionsv1.CustomResourceDefinition) error {
	rules := Overlay[crd.Spec.Names.Plural]
	if len(rules) == 0 {
		return nil
	}
	for i := range crd.Spec.Versions {
		v := &crd.Spec.Versions[i]
		if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			return fmt.Errorf("%s %s has no schema", crd.Name, v.Name)
		}
		spec, ok := v.Schema.OpenAPIV3Schema.Properties["spec"]
		if !ok {
			return fmt.Errorf("%s %s has no spec", crd.Name, v.Name)
		}
		spec.XValidations = append(spec.XValidations, rules...)
		v.Schema.OpenAPIV3Schema.Properties["spec"] = spec
	}
	return nil
}
