package issuance

import (
	"crypto/x509"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RenewalTime is when crt, issued as cert, is renewed: by default at two thirds of the
// certificate's actual lifetime, or as renewBefore, renewBeforePercentage and renewal
// windows say. It is nil when renewal is disabled.
func RenewalTime(crt *cmapi.Certificate, cert *x509.Certificate) (*metav1.Time, error) {
	return pki.RenewalTime(cert.NotBefore, cert.NotAfter, crt.Spec.RenewBefore, crt.Spec.RenewBeforePercentage, crt.Spec.Renewal)
}
