package issuance

import (
	"crypto"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	corev1 "k8s.io/api/core/v1"
)

// NextPrivateKey decides the private key for the next issuance: the key already in the
// Secret when rotationPolicy is Never and that key still fits the spec, else a new key
// of the spec's algorithm and size (RSA 2048 by default).
func NextPrivateKey(crt *cmapi.Certificate, current *corev1.Secret) (crypto.Signer, error) {
	if RotationPolicy(crt) == cmapi.RotationPolicyNever && current != nil {
		if key, err := pki.DecodePrivateKeyBytes(current.Data[corev1.TLSPrivateKeyKey]); err == nil &&
			len(pki.PrivateKeyMatchesSpec(key, crt.Spec)) == 0 {
			return key, nil
		}
	}
	return pki.GeneratePrivateKeyForCertificate(crt)
}

// RotationPolicy is the spec's private key rotation policy; Always when unset, as in
// cert-manager v1.18 and later.
func RotationPolicy(crt *cmapi.Certificate) cmapi.PrivateKeyRotationPolicy {
	if pk := crt.Spec.PrivateKey; pk != nil && pk.RotationPolicy != "" {
		return pk.RotationPolicy
	}
	return cmapi.RotationPolicyAlways
}

// EncodePrivateKey encodes key as the spec says (PKCS1 by default) in PEM.
func EncodePrivateKey(crt *cmapi.Certificate, key crypto.Signer) ([]byte, error) {
	var encoding cmapi.PrivateKeyEncoding
	if crt.Spec.PrivateKey != nil {
		encoding = crt.Spec.PrivateKey.Encoding
	}
	return pki.EncodePrivateKey(key, encoding)
}
