package issuance

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"time"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	corev1 "k8s.io/api/core/v1"
)

// Reasons a Certificate is (re-)issued or not Ready, as cert-manager names them.
const (
	ReasonDoesNotExist              = "DoesNotExist"
	ReasonMissingData               = "MissingData"
	ReasonInvalidKeyPair            = "InvalidKeyPair"
	ReasonInvalidCertificate        = "InvalidCertificate"
	ReasonInvalidCertificateRequest = "InvalidCertificateRequest"
	ReasonSecretMismatch            = "SecretMismatch"
	ReasonIncorrectIssuer           = "IncorrectIssuer"
	ReasonIncorrectCertificate      = "IncorrectCertificate"
	ReasonRequestChanged            = "RequestChanged"
	ReasonRenewing                  = "Renewing"
	ReasonExpired                   = "Expired"
	ReasonWindowError               = "WindowError"
)

// Input is what the checks look at: the Certificate, its Secret (nil when missing) and
// the CertificateRequest of its current revision (nil when there is none).
type Input struct {
	Certificate    *cmapi.Certificate
	Secret         *corev1.Secret
	CurrentRequest *cmapi.CertificateRequest
	Now            time.Time
}

// Verdict says why a check failed. The zero Verdict means every check passed.
type Verdict struct {
	Reason  string
	Message string
}

// Failed is true when some check failed.
func (v Verdict) Failed() bool { return v.Reason != "" }

// Check looks at one property; a failed check returns a Verdict with a Reason.
type Check func(Input) Verdict

// Chain runs checks in order and returns the first failure.
type Chain []Check

func (c Chain) Evaluate(in Input) Verdict {
	for _, check := range c {
		if v := check(in); v.Failed() {
			return v
		}
	}
	return Verdict{}
}

// secretChecks are shared by the trigger and readiness chains, in cert-manager's order.
var secretChecks = Chain{
	secretExists,
	secretHasData,
	secretKeyMatchesCertificate,
	secretIssuerMatches,
	secretBelongsToCertificate,
	secretKeyMatchesSpec,
	secretKeyMatchesCurrentRequest,
	currentRequestMatchesSpec,
}

// TriggerChain decides whether a Certificate needs issuing.
var TriggerChain = append(append(Chain{}, secretChecks...), renewalDue)

// ReadinessChain decides whether a Certificate is Ready.
var ReadinessChain = append(append(Chain{}, secretChecks...), notExpired)

func secretExists(in Input) Verdict {
	if in.Secret == nil {
		return Verdict{ReasonDoesNotExist, "Issuing certificate as Secret does not exist"}
	}
	return Verdict{}
}

func secretHasData(in Input) Verdict {
	switch {
	case in.Secret.Data == nil:
		return Verdict{ReasonMissingData, "Issuing certificate as Secret does not contain any data"}
	case len(in.Secret.Data[corev1.TLSPrivateKeyKey]) == 0:
		return Verdict{ReasonMissingData, "Issuing certificate as Secret does not contain a private key"}
	case len(in.Secret.Data[corev1.TLSCertKey]) == 0:
		return Verdict{ReasonMissingData, "Issuing certificate as Secret does not contain a certificate"}
	}
	return Verdict{}
}

func secretKeyMatchesCertificate(in Input) Verdict {
	key, v := secretKey(in)
	if v.Failed() {
		return v
	}
	cert, v := secretCertificate(in)
	if v.Failed() {
		return v
	}
	equal, err := pki.PublicKeysEqual(cert.PublicKey, key.Public())
	if err != nil {
		return Verdict{ReasonInvalidKeyPair, fmt.Sprintf("Secret contains an invalid key-pair: %v", err)}
	}
	if !equal {
		return Verdict{ReasonInvalidKeyPair, "Issuing certificate as Secret contains a private key that does not match the certificate"}
	}
	return Verdict{}
}

func secretIssuerMatches(in Input) Verdict {
	if cmapiutil.SecretIssuerAnnotationsMatch(in.Secret, in.Certificate.Spec.IssuerRef) {
		return Verdict{}
	}
	a := in.Secret.Annotations
	ref := fmt.Sprintf("%s.%s/%s", a[cmapi.IssuerKindAnnotationKey], a[cmapi.IssuerGroupAnnotationKey], a[cmapi.IssuerNameAnnotationKey])
	return Verdict{ReasonIncorrectIssuer, fmt.Sprintf("Issuing certificate as Secret was previously issued by %q", ref)}
}

func secretBelongsToCertificate(in Input) Verdict {
	name, ok := in.Secret.Annotations[cmapi.CertificateNameKey]
	if ok && name != in.Certificate.Name {
		return Verdict{ReasonIncorrectCertificate, fmt.Sprintf("Secret was issued for %q. If this message is not transient, "+
			"you might have two conflicting Certificates pointing to the same secret.", name)}
	}
	return Verdict{}
}

func secretKeyMatchesSpec(in Input) Verdict {
	key, v := secretKey(in)
	if v.Failed() {
		return v
	}
	if violations := pki.PrivateKeyMatchesSpec(key, in.Certificate.Spec); len(violations) > 0 {
		return Verdict{ReasonSecretMismatch, fmt.Sprintf("Existing private key is not up to date for spec: %v", violations)}
	}
	return Verdict{}
}

func secretKeyMatchesCurrentRequest(in Input) Verdict {
	if in.CurrentRequest == nil {
		return Verdict{}
	}
	key, v := secretKey(in)
	if v.Failed() {
		return v
	}
	csr, err := pki.DecodeX509CertificateRequestBytes(in.CurrentRequest.Spec.Request)
	if err != nil {
		return Verdict{ReasonInvalidCertificateRequest, fmt.Sprintf("Failed to decode current CertificateRequest: %v", err)}
	}
	equal, err := pki.PublicKeysEqual(csr.PublicKey, key.Public())
	if err != nil {
		return Verdict{ReasonInvalidCertificateRequest, fmt.Sprintf("CertificateRequest's public key is invalid: %v", err)}
	}
	if !equal {
		return Verdict{ReasonSecretMismatch, "Secret contains a private key that does not match the current CertificateRequest"}
	}
	return Verdict{}
}

// currentRequestMatchesSpec compares the spec with the current request, or, when that
// request is gone, with the SANs of the issued certificate.
func currentRequestMatchesSpec(in Input) Verdict {
	if in.CurrentRequest == nil {
		cert, v := secretCertificate(in)
		if v.Failed() {
			return v
		}
		if violations := pki.FuzzyX509AltNamesMatchSpec(cert, in.Certificate.Spec); len(violations) > 0 {
			return Verdict{ReasonSecretMismatch, fmt.Sprintf("Issuing certificate as Existing issued Secret is not up to date for spec: %v", violations)}
		}
		return Verdict{}
	}
	violations, err := pki.RequestMatchesSpec(in.CurrentRequest, in.Certificate.Spec)
	if err == nil && len(violations) > 0 {
		return Verdict{ReasonRequestChanged, fmt.Sprintf("Fields on existing CertificateRequest resource not up to date: %v", violations)}
	}
	return Verdict{}
}

func renewalDue(in Input) Verdict {
	cert, v := secretCertificate(in)
	if v.Failed() {
		return v
	}
	crt := in.Certificate
	if crt.Spec.Renewal != nil && crt.Spec.Renewal.Policy == cmapi.CertificateRenewalPolicyDisabled {
		return Verdict{}
	}
	renewal, err := RenewalTime(crt, cert)
	if err != nil {
		return Verdict{ReasonWindowError, err.Error()}
	}
	if renewal == nil || renewal.After(in.Now) {
		return Verdict{}
	}
	return Verdict{ReasonRenewing, fmt.Sprintf("Renewing certificate as renewal was scheduled at %s", crt.Status.RenewalTime)}
}

func notExpired(in Input) Verdict {
	cert, v := secretCertificate(in)
	if v.Failed() {
		return v
	}
	if !in.Now.Before(cert.NotAfter) {
		return Verdict{ReasonExpired, fmt.Sprintf("Certificate expired on %s", cert.NotAfter.Format(time.RFC1123))}
	}
	return Verdict{}
}

func secretKey(in Input) (crypto.Signer, Verdict) {
	key, err := pki.DecodePrivateKeyBytes(in.Secret.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return nil, Verdict{ReasonInvalidKeyPair, fmt.Sprintf("Issuing certificate as Secret contains invalid private key data: %v", err)}
	}
	return key, Verdict{}
}

func secretCertificate(in Input) (*x509.Certificate, Verdict) {
	cert, err := pki.DecodeX509CertificateBytes(in.Secret.Data[corev1.TLSCertKey])
	if err != nil {
		return nil, Verdict{ReasonInvalidCertificate, fmt.Sprintf("Issuing certificate as Secret contains an invalid certificate: %v", err)}
	}
	return cert, Verdict{}
}
