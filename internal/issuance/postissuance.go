package issuance

import (
	"fmt"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
)

// SecretNeedsUpdate says why an issued, valid Secret no longer has what the spec asks
// for around the certificate, which needs a rewrite but no new certificate: a
// secretTemplate label or annotation, an additional output format or a keystore that
// was added, changed or dropped. The empty string means it is up to date.
//
// A secretTemplate key that was removed from the spec is not detected here; it goes at
// the next issuance (cert-manager tells it from the Secret's managed fields).
func SecretNeedsUpdate(crt *cmapi.Certificate, s *corev1.Secret) string {
	want := map[string]bool{}
	for _, f := range crt.Spec.AdditionalOutputFormats {
		switch f.Type {
		case cmapi.CertificateOutputFormatDER:
			want[cmapi.CertificateOutputFormatDERKey] = true
		case cmapi.CertificateOutputFormatCombinedPEM:
			want[cmapi.CertificateOutputFormatCombinedPEMKey] = true
		}
	}
	hasCA := len(s.Data["ca.crt"]) > 0
	if ks := crt.Spec.Keystores; ks != nil {
		if ks.JKS != nil && ks.JKS.Create {
			want[cmapi.JKSSecretKey], want[cmapi.JKSTruststoreKey] = true, hasCA
		}
		if ks.PKCS12 != nil && ks.PKCS12.Create {
			want[cmapi.PKCS12SecretKey], want[cmapi.PKCS12TruststoreKey] = true, hasCA
		}
	}
	for _, key := range OptionalSecretKeys {
		if has := len(s.Data[key]) > 0; has != want[key] {
			return fmt.Sprintf("Secret key %q is not as the spec says", key)
		}
	}
	if t := crt.Spec.SecretTemplate; t != nil {
		for k, v := range t.Labels {
			if s.Labels[k] != v && !managed(k) {
				return fmt.Sprintf("secretTemplate label %q is not on the Secret", k)
			}
		}
		for k, v := range t.Annotations {
			if s.Annotations[k] != v && !managed(k) {
				return fmt.Sprintf("secretTemplate annotation %q is not on the Secret", k)
			}
		}
	}
	if s.Labels[cmapi.PartOfCertManagerControllerLabelKey] != "true" {
		return "the Secret lacks the controller.cert-manager.io/fao label"
	}
	return ""
}

// OptionalSecretKeys are the Secret keys that only some specs ask for.
var OptionalSecretKeys = []string{cmapi.CertificateOutputFormatDERKey, cmapi.CertificateOutputFormatCombinedPEMKey,
	cmapi.JKSSecretKey, cmapi.JKSTruststoreKey, cmapi.PKCS12SecretKey, cmapi.PKCS12TruststoreKey}

// managed keys are cert-manager's own; a template cannot set them.
func managed(key string) bool {
	switch key {
	case cmapi.PartOfCertManagerControllerLabelKey, cmapi.CertificateNameKey, cmapi.IssuerNameAnnotationKey,
		cmapi.IssuerKindAnnotationKey, cmapi.IssuerGroupAnnotationKey, cmapi.CommonNameAnnotationKey,
		cmapi.AltNamesAnnotationKey, cmapi.IPSANAnnotationKey, cmapi.URISANAnnotationKey, cmapi.EmailsAnnotationKey:
		return true
	}
	return false
}
