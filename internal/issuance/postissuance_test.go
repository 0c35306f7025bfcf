package issuance

import (
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

func TestSecretNeedsUpdate(t *testing.T) {
	crt := certificate(func(c *cmapi.Certificate) {
		c.Spec.SecretTemplate = &cmapi.CertificateSecretTemplate{Labels: map[string]string{"team": "web"}}
	})
	s, _ := issue(t, crt, newKey(t, crt), now, time.Hour)
	for _, tc := range []struct {
		name   string
		mutate func(*cmapi.Certificate)
		update bool
	}{
		{"as issued", nil, false},
		{"template label changed", func(c *cmapi.Certificate) { c.Spec.SecretTemplate.Labels["team"] = "api" }, true},
		{"template annotation added", func(c *cmapi.Certificate) { c.Spec.SecretTemplate.Annotations = map[string]string{"a": "b"} }, true},
		{"template tries to override a managed key", func(c *cmapi.Certificate) {
			c.Spec.SecretTemplate.Annotations = map[string]string{cmapi.CommonNameAnnotationKey: "forged"}
		}, false},
		{"output format added", func(c *cmapi.Certificate) {
			c.Spec.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{{Type: cmapi.CertificateOutputFormatDER}}
		}, true},
		{"keystore added", func(c *cmapi.Certificate) {
			c.Spec.Keystores = &cmapi.CertificateKeystores{PKCS12: &cmapi.PKCS12Keystore{Create: true}}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := crt.DeepCopy()
			if tc.mutate != nil {
				tc.mutate(c)
			}
			if got := SecretNeedsUpdate(c, s); (got != "") != tc.update {
				t.Errorf("SecretNeedsUpdate = %q, want update=%v", got, tc.update)
			}
		})
	}
	t.Run("output format dropped", func(t *testing.T) {
		with := crt.DeepCopy()
		with.Spec.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{{Type: cmapi.CertificateOutputFormatDER}}
		s, _ := issue(t, with, newKey(t, with), now, time.Hour)
		if SecretNeedsUpdate(crt, s) == "" {
			t.Error("key.der left behind is not noticed")
		}
	})
}
