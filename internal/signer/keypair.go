package signer

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/cert-manager/cert-manager/pkg/util/pki"
	corev1 "k8s.io/api/core/v1"

	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
)

// ErrInvalidData marks Secret contents that cannot be parsed; retrying will not help
// until the Secret changes.
var ErrInvalidData = errors.New("invalid data")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidData, fmt.Sprintf(format, args...))
}

// PrivateKey parses tls.key of a Secret.
func PrivateKey(s *corev1.Secret) (crypto.Signer, error) {
	raw, ok := s.Data[corev1.TLSPrivateKeyKey]
	if !ok {
		return nil, invalid("no private key data for %q in secret '%s/%s'", corev1.TLSPrivateKeyKey, s.Namespace, s.Name)
	}
	key, err := pki.DecodePrivateKeyBytes(raw)
	if err != nil {
		return nil, invalid("%v", err)
	}
	return key, nil
}

// Certificates parses the tls.crt chain of a Secret.
func Certificates(s *corev1.Secret) ([]*x509.Certificate, error) {
	raw, ok := s.Data[corev1.TLSCertKey]
	if !ok {
		return nil, invalid("no certificate data for %q in secret '%s/%s'", corev1.TLSCertKey, s.Namespace, s.Name)
	}
	certs, err := pki.DecodeX509CertificateChainBytes(raw)
	if err != nil {
		return nil, invalid("%v", err)
	}
	return certs, nil
}

// KeyPairAndCA parses a CA issuer's Secret: its chain, with ca.crt appended when present,
// and its private key, which must match the leaf.
func KeyPairAndCA(s *corev1.Secret) ([]*x509.Certificate, crypto.Signer, error) {
	key, err := PrivateKey(s)
	if err != nil {
		return nil, nil, err
	}
	certs, err := Certificates(s)
	if err != nil {
		return nil, nil, err
	}
	if ok, err := pki.PublicKeyMatchesCertificate(key.Public(), certs[0]); err != nil || !ok {
		return nil, nil, invalid("private key in secret '%s/%s' does not match its certificate", s.Namespace, s.Name)
	}
	if raw := s.Data[cmmeta.TLSCAKey]; len(raw) > 0 {
		ca, err := pki.DecodeX509CertificateBytes(raw)
		if err != nil {
			return nil, nil, invalid("%v", err)
		}
		certs = append(certs, ca)
	}
	return certs, key, nil
}
