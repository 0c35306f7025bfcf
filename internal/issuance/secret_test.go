package issuance

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	corev1 "k8s.io/api/core/v1"
)

func decode(t *testing.T, s *corev1.Secret) *x509.Certificate {
	t.Helper()
	c, err := pki.DecodeX509CertificateBytes(s.Data[corev1.TLSCertKey])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRenderSecret(t *testing.T) {
	crt := certificate(func(c *cmapi.Certificate) {
		c.Spec.Subject = &cmapi.X509Subject{Organizations: []string{"Acme, Inc.", "Web"}, Countries: []string{"DE"}}
		c.Spec.IPAddresses = []string{"10.0.0.1"}
		c.Spec.URIs = []string{"spiffe://acme/web"}
		c.Spec.EmailAddresses = []string{"ops@example.com"}
		c.Spec.SecretTemplate = &cmapi.CertificateSecretTemplate{
			Labels:      map[string]string{"team": "web", cmapi.PartOfCertManagerControllerLabelKey: "false"},
			Annotations: map[string]string{"note": "hi", cmapi.CommonNameAnnotationKey: "forged"},
		}
		c.Spec.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{
			{Type: cmapi.CertificateOutputFormatDER}, {Type: cmapi.CertificateOutputFormatCombinedPEM},
		}
	})
	s, _ := issue(t, crt, newKey(t, crt), now, time.Hour)

	if s.Type != corev1.SecretTypeTLS {
		t.Errorf("type %s", s.Type)
	}
	wantAnnotations := map[string]string{
		cmapi.CertificateNameKey:                "web",
		cmapi.IssuerNameAnnotationKey:           "default",
		cmapi.IssuerKindAnnotationKey:           "ClusterIssuer",
		cmapi.IssuerGroupAnnotationKey:          "cert-manager.io",
		cmapi.CommonNameAnnotationKey:           "web.example", // cert-manager's value beats the template
		cmapi.AltNamesAnnotationKey:             "web.example",
		cmapi.IPSANAnnotationKey:                "10.0.0.1",
		cmapi.URISANAnnotationKey:               "spiffe://acme/web",
		cmapi.EmailsAnnotationKey:               "ops@example.com",
		cmapi.SubjectOrganizationsAnnotationKey: `Web,"Acme, Inc."`, // CSV-escaped, in the certificate's order
		cmapi.SubjectCountriesAnnotationKey:     "DE",
		"note":                                  "hi",
	}
	for k, v := range wantAnnotations {
		if s.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, s.Annotations[k], v)
		}
	}
	if _, ok := s.Annotations[cmapi.SubjectLocalitiesAnnotationKey]; ok {
		t.Error("empty subject fields must be left out")
	}
	if s.Labels[cmapi.PartOfCertManagerControllerLabelKey] != "true" || s.Labels["team"] != "web" {
		t.Errorf("labels %v", s.Labels)
	}
	block, _ := pem.Decode(s.Data[corev1.TLSPrivateKeyKey])
	if !bytes.Equal(s.Data[cmapi.CertificateOutputFormatDERKey], block.Bytes) {
		t.Error("key.der is not the DER of tls.key")
	}
	combined := s.Data[cmapi.CertificateOutputFormatCombinedPEMKey]
	if !bytes.HasPrefix(combined, s.Data[corev1.TLSPrivateKeyKey]) || !bytes.HasSuffix(combined, s.Data[corev1.TLSCertKey]) {
		t.Error("tls-combined.pem is not key then certificate")
	}
	if len(s.Data["ca.crt"]) == 0 {
		t.Error("ca.crt missing")
	}
}

func TestRenderSecretLeavesOutEmptyCA(t *testing.T) {
	crt := certificate()
	s, cr := issue(t, crt, newKey(t, crt), now, time.Hour)
	ac, err := RenderSecret(crt, SecretContents{PrivateKey: s.Data["tls.key"], Certificate: cr.Status.Certificate}, map[string]string{"x": "y"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ac.Data["ca.crt"]; ok {
		t.Error("empty ca.crt must be left out")
	}
	if ac.Annotations["x"] != "y" {
		t.Error("extra annotations missing")
	}
	if _, err := RenderSecret(crt, SecretContents{PrivateKey: s.Data["tls.key"], Certificate: []byte("garbage")}, nil); err == nil {
		t.Error("a certificate that does not decode must be an error, not a half-written Secret")
	}
}

func TestKeysAndRequests(t *testing.T) {
	crt := certificate(func(c *cmapi.Certificate) {
		c.Annotations = map[string]string{"keep": "1", "kubectl.kubernetes.io/last-applied-configuration": "{}"}
		c.Labels = map[string]string{"app": "web"}
	})
	s, _ := issue(t, crt, newKey(t, crt), now, time.Hour)
	oldKey, _ := pki.DecodePrivateKeyBytes(s.Data["tls.key"])

	t.Run("rotationPolicy Always (default) makes a new key", func(t *testing.T) {
		k, err := NextPrivateKey(crt, s)
		if err != nil {
			t.Fatal(err)
		}
		if eq, _ := pki.PublicKeysEqual(k.Public(), oldKey.Public()); eq {
			t.Error("key was reused")
		}
	})
	t.Run("rotationPolicy Never reuses a key that fits the spec", func(t *testing.T) {
		never := crt.DeepCopy()
		never.Spec.PrivateKey.RotationPolicy = cmapi.RotationPolicyNever
		k, _ := NextPrivateKey(never, s)
		if eq, _ := pki.PublicKeysEqual(k.Public(), oldKey.Public()); !eq {
			t.Error("key was not reused")
		}
		never.Spec.PrivateKey.Algorithm = cmapi.Ed25519KeyAlgorithm
		k, _ = NextPrivateKey(never, s)
		if eq, _ := pki.PublicKeysEqual(k.Public(), oldKey.Public()); eq {
			t.Error("a key that no longer fits the spec was reused")
		}
	})
	t.Run("defaults: RSA 2048 in PKCS1", func(t *testing.T) {
		def := crt.DeepCopy()
		def.Spec.PrivateKey = nil
		k, err := NextPrivateKey(def, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v := pki.PrivateKeyMatchesSpec(k, cmapi.CertificateSpec{PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: 2048}}); len(v) > 0 {
			t.Errorf("default key: %v", v)
		}
		p, _ := EncodePrivateKey(def, k)
		if block, _ := pem.Decode(p); block.Type != "RSA PRIVATE KEY" {
			t.Errorf("default encoding %s, want PKCS1", block.Type)
		}
	})
	t.Run("request: name, annotations, labels, owner", func(t *testing.T) {
		key := newKey(t, crt)
		cr, err := NewRequest(crt, key, 3, "web-abcde")
		if err != nil {
			t.Fatal(err)
		}
		if cr.Name != "web-3" {
			t.Errorf("name %s", cr.Name)
		}
		want := map[string]string{
			cmapi.CertificateRequestRevisionAnnotationKey:   "3",
			cmapi.CertificateRequestPrivateKeyAnnotationKey: "web-abcde",
			cmapi.CertificateNameKey:                        "web",
			"keep":                                          "1",
		}
		for k, v := range want {
			if cr.Annotations[k] != v {
				t.Errorf("annotation %s = %q, want %q", k, cr.Annotations[k], v)
			}
		}
		if _, ok := cr.Annotations["kubectl.kubernetes.io/last-applied-configuration"]; ok {
			t.Error("kubectl annotations must not be copied")
		}
		if cr.Labels["app"] != "web" || len(cr.OwnerReferences) != 1 || cr.OwnerReferences[0].Kind != "Certificate" {
			t.Errorf("labels %v owners %v", cr.Labels, cr.OwnerReferences)
		}
		if v, err := pki.RequestMatchesSpec(cr, crt.Spec); err != nil || len(v) > 0 {
			t.Errorf("request does not match spec: %v %v", v, err)
		}
	})
	t.Run("a spec that makes no CSR is ErrInvalidSpec", func(t *testing.T) {
		bad := crt.DeepCopy()
		bad.Spec.IPAddresses = []string{"not-an-ip"}
		if _, err := NewRequest(bad, newKey(t, bad), 1, "k"); err == nil {
			t.Error("no error")
		}
	})
}
