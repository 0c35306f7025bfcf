package issuance

import (
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidateSpec(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*cmapi.Certificate)
		field  string // empty: valid
	}{
		{"valid", nil, ""},
		{"default duration is fine", func(c *cmapi.Certificate) { c.Spec.Duration = nil }, ""},
		{"duration under 1h", func(c *cmapi.Certificate) { c.Spec.Duration = &metav1.Duration{Duration: 59 * time.Minute} }, "spec.duration"},
		{"renewBefore not shorter than duration", func(c *cmapi.Certificate) {
			c.Spec.Duration = &metav1.Duration{Duration: 2 * time.Hour}
			c.Spec.RenewBefore = &metav1.Duration{Duration: 2 * time.Hour}
		}, "spec.renewBefore"},
		{"no subject at all", func(c *cmapi.Certificate) { c.Spec.CommonName, c.Spec.DNSNames = "", nil }, "spec: at least one"},
		{"an IP alone is a subject", func(c *cmapi.Certificate) {
			c.Spec.CommonName, c.Spec.DNSNames, c.Spec.IPAddresses = "", nil, []string{"10.0.0.1"}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := certificate()
			if tc.mutate != nil {
				tc.mutate(c)
			}
			errs := ValidateSpec(c)
			switch {
			case tc.field == "" && len(errs) > 0:
				t.Errorf("unexpected errors %v", errs)
			case tc.field != "" && (len(errs) != 1 || !strings.HasPrefix(errs[0], tc.field)):
				t.Errorf("errors %v, want one about %s", errs, tc.field)
			}
		})
	}
}
