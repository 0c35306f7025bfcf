package e2e

import (
	"strings"
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestAdmissionRejectsWhatCertManagerRejects: one case per rule of the schema overlay,
// created through the consumer's own client. Each must be rejected by kcp with the rule's
// message, without any code running in the provider workspace; a valid object passes.
func TestAdmissionRejectsWhatCertManagerRejects(t *testing.T) {
	t.Parallel()
	const path = "root:orgs:e2e-admission:team"
	c, _ := orderedAccount(t, path)
	ref := cmmeta.IssuerReference{Name: "default", Kind: "ClusterIssuer"}
	crt := func(name string, mutate func(*cmapi.CertificateSpec)) client.Object {
		c := newCertificate("default", name, ref, cmapi.ECDSAKeyAlgorithm, 256)
		mutate(&c.Spec)
		return c
	}
	issuer := func(name string, config cmapi.IssuerConfig) client.Object {
		return &cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Spec: cmapi.IssuerSpec{IssuerConfig: config}}
	}
	for _, tc := range []struct {
		name    string
		obj     client.Object
		message string // empty: accepted
	}{
		{"valid", crt("valid", func(*cmapi.CertificateSpec) {}), ""},
		{"duration under 1h", crt("short", func(s *cmapi.CertificateSpec) { s.Duration = &metav1.Duration{Duration: 59 * time.Minute} }),
			"spec.duration must be at least 1h"},
		{"renewBefore not shorter than duration", crt("renew", func(s *cmapi.CertificateSpec) {
			s.RenewBefore = &metav1.Duration{Duration: 2 * time.Hour}
		}), "spec.renewBefore must be shorter than spec.duration"},
		{"renewBefore beyond the default duration", crt("renew-default", func(s *cmapi.CertificateSpec) {
			s.Duration, s.RenewBefore = nil, &metav1.Duration{Duration: 2200 * time.Hour}
		}), "spec.renewBefore must be shorter than spec.duration"},
		{"no subject at all", crt("nosubject", func(s *cmapi.CertificateSpec) { s.CommonName, s.DNSNames = "", nil }),
			"at least one of spec.commonName"},
		{"invalid issuerRef kind", crt("badkind", func(s *cmapi.CertificateSpec) { s.IssuerRef.Kind = "Issuers" }),
			"spec.issuerRef.kind must be Issuer or ClusterIssuer"},
		{"another group's kind is not ours to judge", crt("extkind", func(s *cmapi.CertificateSpec) {
			s.IssuerRef = cmmeta.IssuerReference{Name: "x", Kind: "AWSPCAIssuer", Group: "awspca.cert-manager.io"}
		}), ""},
		{"RSA key too small", crt("rsa1024", func(s *cmapi.CertificateSpec) {
			s.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: 1024}
		}), "spec.privateKey.size must be"},
		{"RSA is the default algorithm", crt("rsa-default", func(s *cmapi.CertificateSpec) {
			s.PrivateKey = &cmapi.CertificatePrivateKey{Size: 256}
		}), "spec.privateKey.size must be"},
		{"ECDSA size not a curve", crt("ec255", func(s *cmapi.CertificateSpec) { s.PrivateKey.Size = 255 }), "spec.privateKey.size must be"},
		{"cert-manager.io annotation in secretTemplate", crt("tmpl", func(s *cmapi.CertificateSpec) {
			s.SecretTemplate = &cmapi.CertificateSecretTemplate{Annotations: map[string]string{"cert-manager.io/common-name": "forged"}}
		}), "spec.secretTemplate.annotations must not set cert-manager.io/ annotations"},
		{"issuer without a type", issuer("none", cmapi.IssuerConfig{}), "exactly one of spec.acme"},
		{"issuer with two types", issuer("two", cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}, CA: &cmapi.CAIssuer{SecretName: "x"}}),
			"exactly one of spec.acme"},
		{"issuer with one type", issuer("acme", cmapi.IssuerConfig{ACME: &cmacme.ACMEIssuer{Server: "https://acme.example",
			PrivateKey: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "k"}}}}), ""},
		{"cluster issuer with two types", &cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "two"}, Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{
			SelfSigned: &cmapi.SelfSignedIssuer{}, CA: &cmapi.CAIssuer{SecretName: "x"}}}}, "exactly one of spec.acme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Create(t.Context(), tc.obj)
			switch {
			case tc.message == "" && err != nil:
				t.Errorf("a valid object was rejected: %v", err)
			case tc.message != "" && (err == nil || !strings.Contains(err.Error(), tc.message)):
				t.Errorf("got %v, want a rejection saying %q", err, tc.message)
			}
		})
	}
}
