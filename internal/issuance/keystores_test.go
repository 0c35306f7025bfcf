package issuance

import (
	"bytes"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	jks "github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"
)

func TestKeystores(t *testing.T) {
	crt := certificate(func(c *cmapi.Certificate) {
		alias := "web"
		c.Spec.Keystores = &cmapi.CertificateKeystores{
			JKS:    &cmapi.JKSKeystore{Create: true, Alias: &alias},
			PKCS12: &cmapi.PKCS12Keystore{Create: true, Profile: cmapi.Modern2023PKCS12Profile},
		}
	})
	issued, cr := issue(t, crt, newKey(t, crt), now, time.Hour)
	contents := SecretContents{PrivateKey: issued.Data["tls.key"], Certificate: cr.Status.Certificate, CA: cr.Status.CA,
		Passwords: KeystorePasswords{JKS: []byte("changeit"), PKCS12: []byte("p12-secret")}}
	ac, err := RenderSecret(crt, contents, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := pki.DecodeX509CertificateBytes(cr.Status.Certificate)

	key, cert, cas, err := pkcs12.DecodeChain(ac.Data[cmapi.PKCS12SecretKey], "p12-secret")
	if err != nil {
		t.Fatalf("keystore.p12: %v", err)
	}
	if !bytes.Equal(cert.Raw, leaf.Raw) || len(cas) != 1 || key == nil {
		t.Errorf("keystore.p12 holds the wrong entries")
	}
	if trusted, err := pkcs12.DecodeTrustStore(ac.Data[cmapi.PKCS12TruststoreKey], "p12-secret"); err != nil || len(trusted) != 1 {
		t.Errorf("truststore.p12: %v (%d certificates)", err, len(trusted))
	}
	if _, _, _, err := pkcs12.DecodeChain(ac.Data[cmapi.PKCS12SecretKey], "wrong"); err == nil {
		t.Error("keystore.p12 opens with the wrong password")
	}

	store := jks.New()
	if err := store.Load(bytes.NewReader(ac.Data[cmapi.JKSSecretKey]), []byte("changeit")); err != nil {
		t.Fatalf("keystore.jks: %v", err)
	}
	entry, err := store.GetPrivateKeyEntry("web", []byte("changeit"))
	if err != nil || !bytes.Equal(entry.CertificateChain[0].Content, leaf.Raw) {
		t.Errorf("keystore.jks entry %q: %v", "web", err)
	}
	if _, err := store.GetTrustedCertificateEntry("ca"); err != nil {
		t.Errorf("keystore.jks has no ca entry: %v", err)
	}
	trust := jks.New()
	if err := trust.Load(bytes.NewReader(ac.Data[cmapi.JKSTruststoreKey]), []byte("changeit")); err != nil {
		t.Errorf("truststore.jks: %v", err)
	}

	t.Run("no CA, no truststores", func(t *testing.T) {
		noCA := contents
		noCA.CA = nil
		ac, err := RenderSecret(crt, noCA, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := ac.Data[cmapi.JKSTruststoreKey]; ok {
			t.Error("truststore.jks without a CA")
		}
		if _, ok := ac.Data[cmapi.PKCS12TruststoreKey]; ok {
			t.Error("truststore.p12 without a CA")
		}
	})
}
