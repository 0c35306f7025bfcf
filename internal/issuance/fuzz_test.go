package issuance

import (
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FuzzChainsOnTenantSecrets feeds arbitrary Secret contents and annotations, as a tenant
// can write them, through the trigger and readiness chains and the post-issuance check.
// They must answer without panicking; a Secret that is not what was issued must never
// count as up to date.
func FuzzChainsOnTenantSecrets(f *testing.F) {
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), []byte("not a certificate"), []byte{}, "web", "default")
	f.Add([]byte{}, []byte{}, []byte{0xff}, "", "")
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----"), []byte("-----BEGIN EC PRIVATE KEY-----\n\n-----END EC PRIVATE KEY-----"), []byte("x"), "a,b", `"q"`)
	f.Fuzz(func(t *testing.T, key, cert, ca []byte, certName, issuerName string) {
		crt := certificate()
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
				cmapi.CertificateNameKey: certName, cmapi.IssuerNameAnnotationKey: issuerName,
			}},
			Data: map[string][]byte{corev1.TLSPrivateKeyKey: key, corev1.TLSCertKey: cert, cmmeta.TLSCAKey: ca},
		}
		in := Input{Certificate: crt, Secret: s, Now: time.Now()}
		if v := TriggerChain.Evaluate(in); !v.Failed() {
			t.Fatalf("random Secret contents count as a valid issued certificate")
		}
		_ = ReadinessChain.Evaluate(in)
		_ = SecretNeedsUpdate(crt, s)
	})
}

// FuzzRequestFromSpec builds CSRs from tenant-controlled spec fields: malformed values
// must be an error (ErrInvalidSpec or another), never a panic.
func FuzzRequestFromSpec(f *testing.F) {
	f.Add("web.example", "10.0.0.1", "spiffe://a/b", "ops@example.com", "CN=x,O=y", int64(time.Hour))
	f.Add("", "not-an-ip", "::", "@", "=,=", int64(0))
	f.Add("*.example", "::1", "http://[::1", "a@b@c", "CN=", int64(-1))
	key := mustKey(f)
	f.Fuzz(func(t *testing.T, dns, ip, uri, email, literal string, duration int64) {
		crt := certificate(func(c *cmapi.Certificate) {
			c.Spec.DNSNames = []string{dns}
			c.Spec.IPAddresses = []string{ip}
			c.Spec.URIs = []string{uri}
			c.Spec.EmailAddresses = []string{email}
			c.Spec.LiteralSubject = literal
			c.Spec.Duration = &metav1.Duration{Duration: time.Duration(duration)}
		})
		_ = ValidateSpec(crt)
		_, _ = NewRequest(crt, key, 1, "k")
	})
}

// FuzzKeystorePasswords renders keystores with arbitrary passwords: an unusable password
// must be an error, never a panic or a half-rendered Secret.
func FuzzKeystorePasswords(f *testing.F) {
	f.Add([]byte("changeit"), []byte("p12"))
	f.Add([]byte{}, []byte{0, 0xff})
	crt := certificate(func(c *cmapi.Certificate) {
		c.Spec.Keystores = &cmapi.CertificateKeystores{
			JKS: &cmapi.JKSKeystore{Create: true}, PKCS12: &cmapi.PKCS12Keystore{Create: true},
		}
	})
	issued, cr := issue(f, crt, mustKey(f), now, time.Hour)
	f.Fuzz(func(t *testing.T, jksPassword, p12Password []byte) {
		contents := SecretContents{PrivateKey: issued.Data[corev1.TLSPrivateKeyKey], Certificate: cr.Status.Certificate, CA: cr.Status.CA,
			Passwords: KeystorePasswords{JKS: jksPassword, PKCS12: p12Password}}
		ac, err := RenderSecret(crt, contents, nil)
		if err == nil && (len(ac.Data[cmapi.JKSSecretKey]) == 0 || len(ac.Data[cmapi.PKCS12SecretKey]) == 0) {
			t.Fatal("no error, but a keystore is missing")
		}
	})
}
