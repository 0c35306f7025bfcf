package issuance

import (
	"crypto"
	"crypto/x509"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func certificate(mutate ...func(*cmapi.Certificate)) *cmapi.Certificate {
	crt := &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web", UID: "uid-1"},
		Spec: cmapi.CertificateSpec{
			SecretName: "web-tls",
			CommonName: "web.example",
			DNSNames:   []string{"web.example"},
			PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256},
			IssuerRef:  cmmeta.IssuerReference{Name: "default", Kind: "ClusterIssuer", Group: "cert-manager.io"},
		},
	}
	for _, m := range mutate {
		m(crt)
	}
	return crt
}

func newKey(t testing.TB, crt *cmapi.Certificate) crypto.Signer {
	t.Helper()
	k, err := pki.GeneratePrivateKeyForCertificate(crt)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// issue signs crt's request with a throwaway CA and returns the Secret that issuing
// would write, plus the request. The certificate lives from notBefore for lifetime.
func issue(t testing.TB, crt *cmapi.Certificate, key crypto.Signer, notBefore time.Time, lifetime time.Duration) (*corev1.Secret, *cmapi.CertificateRequest) {
	t.Helper()
	cr, err := NewRequest(crt, key, 1, "web-next")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := pki.CertificateTemplateFromCertificateRequest(cr)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.NotBefore, tmpl.NotAfter = notBefore, notBefore.Add(lifetime)
	caKey, err := pki.GenerateECPrivateKey(256)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: tmpl.SerialNumber, IsCA: true, BasicConstraintsValid: true,
		NotBefore: notBefore, NotAfter: notBefore.Add(10 * lifetime), KeyUsage: x509.KeyUsageCertSign}
	caTmpl.Subject.CommonName = "test CA"
	caPEM, ca, err := pki.SignCertificate(caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, _, err := pki.SignCertificate(tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := EncodePrivateKey(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	cr.Status.Certificate, cr.Status.CA = certPEM, caPEM
	ac, err := RenderSecret(crt, SecretContents{PrivateKey: keyPEM, Certificate: certPEM, CA: caPEM}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: crt.Namespace, Name: crt.Spec.SecretName, Labels: ac.Labels, Annotations: ac.Annotations},
		Type:       *ac.Type,
		Data:       ac.Data,
	}, cr
}

func mustKey(f *testing.F) crypto.Signer {
	f.Helper()
	k, err := pki.GenerateECPrivateKey(256)
	if err != nil {
		f.Fatal(err)
	}
	return k
}
