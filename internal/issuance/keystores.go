package issuance

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	jks "github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"
)

// KeystorePasswords are the passwords the spec's keystores use, resolved by the caller
// from spec.keystores.*.password or the Secret that passwordSecretRef names.
type KeystorePasswords struct {
	JKS    []byte
	PKCS12 []byte
}

// defaultJKSAlias is cert-manager's alias of the key entry.
const defaultJKSAlias = "certificate"

// keystores renders the JKS and PKCS#12 stores the spec asks for: keystore.jks and
// keystore.p12 with the key and chain, and truststore.jks and truststore.p12 with the CA
// when there is one. Like cert-manager, the PKCS#12 profile defaults to LegacyRC2.
func keystores(crt *cmapi.Certificate, c SecretContents) (map[string][]byte, error) {
	out := map[string][]byte{}
	ks := crt.Spec.Keystores
	if ks == nil {
		return out, nil
	}
	key, err := pki.DecodePrivateKeyBytes(c.PrivateKey)
	if err != nil {
		return nil, err
	}
	chain, err := pki.DecodeX509CertificateChainBytes(c.Certificate)
	if err != nil {
		return nil, err
	}
	var cas []*x509.Certificate
	if len(c.CA) > 0 {
		if cas, err = pki.DecodeX509CertificateSetBytes(c.CA); err != nil {
			return nil, err
		}
	}
	if ks.JKS != nil && ks.JKS.Create {
		alias := defaultJKSAlias
		if ks.JKS.Alias != nil {
			alias = *ks.JKS.Alias
		}
		if out[cmapi.JKSSecretKey], err = jksKeystore(c.Passwords.JKS, alias, key, chain, cas); err != nil {
			return nil, fmt.Errorf("encoding the JKS keystore: %w", err)
		}
		if len(cas) > 0 {
			if out[cmapi.JKSTruststoreKey], err = jksTruststore(c.Passwords.JKS, cas); err != nil {
				return nil, fmt.Errorf("encoding the JKS truststore: %w", err)
			}
		}
	}
	if ks.PKCS12 != nil && ks.PKCS12.Create {
		enc := pkcs12Encoder(ks.PKCS12.Profile)
		password := string(c.Passwords.PKCS12)
		if out[cmapi.PKCS12SecretKey], err = enc.Encode(key, chain[0], append(chain[1:], cas...), password); err != nil {
			return nil, fmt.Errorf("encoding the PKCS#12 keystore: %w", err)
		}
		if len(cas) > 0 {
			if out[cmapi.PKCS12TruststoreKey], err = enc.EncodeTrustStore(cas, password); err != nil {
				return nil, fmt.Errorf("encoding the PKCS#12 truststore: %w", err)
			}
		}
	}
	return out, nil
}

func pkcs12Encoder(profile cmapi.PKCS12Profile) *pkcs12.Encoder {
	switch profile {
	case cmapi.Modern2026PKCS12Profile:
		return pkcs12.Modern2026
	case cmapi.Modern2023PKCS12Profile:
		return pkcs12.Modern2023
	case cmapi.LegacyDESPKCS12Profile:
		return pkcs12.LegacyDES
	default:
		return pkcs12.LegacyRC2
	}
}

func jksKeystore(password []byte, alias string, key any, chain, cas []*x509.Certificate) ([]byte, error) {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	entry := jks.PrivateKeyEntry{CreationTime: time.Now(), PrivateKey: keyDER}
	for _, c := range chain {
		entry.CertificateChain = append(entry.CertificateChain, jks.Certificate{Type: "X509", Content: c.Raw})
	}
	store := jks.New()
	if err := store.SetPrivateKeyEntry(alias, entry, password); err != nil {
		return nil, err
	}
	if err := addTrusted(&store, cas); err != nil {
		return nil, err
	}
	return storeBytes(&store, password)
}

func jksTruststore(password []byte, cas []*x509.Certificate) ([]byte, error) {
	store := jks.New()
	if err := addTrusted(&store, cas); err != nil {
		return nil, err
	}
	return storeBytes(&store, password)
}

// addTrusted adds CAs under cert-manager's aliases: "ca", then "ca-1", "ca-2", ...
func addTrusted(store *jks.KeyStore, cas []*x509.Certificate) error {
	for i, ca := range cas {
		alias := "ca"
		if i > 0 {
			alias = fmt.Sprintf("ca-%d", i)
		}
		entry := jks.TrustedCertificateEntry{CreationTime: time.Now(), Certificate: jks.Certificate{Type: "X509", Content: ca.Raw}}
		if err := store.SetTrustedCertificateEntry(alias, entry); err != nil {
			return err
		}
	}
	return nil
}

func storeBytes(store *jks.KeyStore, password []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := store.Store(&buf, password); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
