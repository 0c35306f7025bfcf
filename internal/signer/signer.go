// Package signer holds one Signer per issuer type. A Signer answers two questions for an
// issuer: can it sign (Setup, which becomes the issuer's Ready condition), and what is
// the certificate for this CertificateRequest (Sign).
//
// Signers see a CertificateRequest's CSR and the issuer, and read Secrets only through
// the SecretGetter they are given, which is scoped to the requesting workspace. They never
// see the requester's private key (SelfSigned reads the key the request names, as
// cert-manager does). That keeps the door open for signers whose CA key never leaves a
// vault: an OpenBao signer posts the CSR to pki_int/sign/<role> and is just another
// entry in the registry.
package signer

import (
	"context"
	"fmt"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
)

// SecretGetter reads a Secret in the workspace being served.
type SecretGetter func(ctx context.Context, namespace, name string) (*corev1.Secret, error)

// Issuer is an Issuer or ClusterIssuer with what a signer needs around it.
type Issuer struct {
	cmapi.GenericIssuer
	// ResourceNamespace holds the issuer's Secrets: the Issuer's own namespace, or the
	// workspace's cluster resource namespace for a ClusterIssuer.
	ResourceNamespace string
	GetSecret         SecretGetter
}

// Status is an issuer's Ready condition as a signer reports it.
type Status struct {
	Ready   bool
	Reason  string
	Message string
}

// Result is a signed certificate chain (leaf first) and the CA for ca.crt, PEM encoded.
type Result struct {
	Certificate []byte
	CA          []byte
}

// Signer signs for one issuer type.
type Signer interface {
	// Setup checks that the issuer can sign.
	Setup(ctx context.Context, issuer Issuer) Status
	// Sign signs an approved request. A returned *Outcome says whether the request is
	// still Pending (retried) or has Failed (terminal); any other error is retried.
	Sign(ctx context.Context, issuer Issuer, cr *cmapi.CertificateRequest) (Result, error)
}

// Outcome is a signing error with the CertificateRequest reason cert-manager gives it.
type Outcome struct {
	Pending bool // false: the request has Failed for good
	Reason  string
	Message string
	Err     error
}

func (o *Outcome) Error() string {
	if o.Err == nil {
		return o.Message
	}
	return o.Message + ": " + o.Err.Error()
}

func (o *Outcome) Unwrap() error { return o.Err }

func pending(reason, message string, err error) *Outcome {
	return &Outcome{Pending: true, Reason: reason, Message: message, Err: err}
}

func failed(reason, message string, err error) *Outcome {
	return &Outcome{Reason: reason, Message: message, Err: err}
}

// Registry maps an issuer type, as cert-manager names it (apiutil.NameForIssuer:
// "selfsigned", "ca", "acme", "vault", "venafi"), to its Signer.
type Registry map[string]Signer

// Default has the signers this provider supports today.
func Default() Registry {
	return Registry{cmapiutil.IssuerSelfSigned: SelfSigned{}, cmapiutil.IssuerCA: CA{}}
}

// Reasons for issuers this provider cannot serve.
const (
	ReasonUnsupportedIssuerType = "UnsupportedIssuerType"
	ReasonInvalidConfig         = "InvalidConfig"
)

// For returns the signer for the issuer's type, or the Status to report when there is none.
func (r Registry) For(issuer cmapi.GenericIssuer) (Signer, *Status) {
	typ, err := cmapiutil.NameForIssuer(issuer)
	if err != nil {
		return nil, &Status{Reason: ReasonInvalidConfig, Message: "No issuer type is configured: set exactly one of selfSigned, ca, acme, vault or venafi"}
	}
	if n := countTypes(issuer.GetSpec()); n > 1 {
		return nil, &Status{Reason: ReasonInvalidConfig, Message: fmt.Sprintf("%d issuer types are configured: set exactly one", n)}
	}
	s, ok := r[typ]
	if !ok {
		return nil, &Status{Reason: ReasonUnsupportedIssuerType, Message: fmt.Sprintf(
			"Issuer type %q is not supported by this Certificate Manager service yet; supported types: selfSigned, ca", typ)}
	}
	return s, nil
}

func countTypes(spec *cmapi.IssuerSpec) int {
	n := 0
	for _, set := range []bool{spec.ACME != nil, spec.CA != nil, spec.Vault != nil, spec.SelfSigned != nil, spec.Venafi != nil} {
		if set {
			n++
		}
	}
	return n
}
