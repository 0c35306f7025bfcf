package signer

import (
	"context"
	"errors"
	"fmt"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// CA signs with a key pair kept in a Secret of the workspace, as cert-manager's CA issuer.
type CA struct{}

const messageErrorGetKeyPair = "Error getting keypair for CA issuer: "

// Setup verifies that the issuer's Secret holds a CA certificate and its private key.
func (CA) Setup(ctx context.Context, issuer Issuer) Status {
	secret, err := issuer.GetSecret(ctx, issuer.ResourceNamespace, issuer.GetSpec().CA.SecretName)
	if err != nil {
		if apierrors.IsNotFound(err) {
			err = fmt.Errorf("secret %q not found", issuer.GetSpec().CA.SecretName)
		}
		return Status{Reason: "ErrGetKeyPair", Message: messageErrorGetKeyPair + err.Error()}
	}
	certs, _, err := KeyPairAndCA(secret)
	if err != nil {
		return Status{Reason: "ErrGetKeyPair", Message: messageErrorGetKeyPair + err.Error()}
	}
	if !certs[0].IsCA {
		return Status{Reason: "ErrInvalidKeyPair", Message: messageErrorGetKeyPair + "certificate is not a CA"}
	}
	return Status{Ready: true, Reason: "KeyPairVerified", Message: "Signing CA verified"}
}

func (CA) Sign(ctx context.Context, issuer Issuer, cr *cmapi.CertificateRequest) (Result, error) {
	ns, name := issuer.ResourceNamespace, issuer.GetSpec().CA.SecretName
	secret, err := issuer.GetSecret(ctx, ns, name)
	if apierrors.IsNotFound(err) {
		return Result{}, pending("SecretMissing", fmt.Sprintf("Referenced secret %s/%s not found", ns, name), err)
	}
	if err != nil {
		return Result{}, pending("SecretGetError", fmt.Sprintf("Failed to get certificate key pair from secret %s/%s", ns, name), err)
	}
	caCerts, caKey, err := KeyPairAndCA(secret)
	if errors.Is(err, ErrInvalidData) {
		return Result{}, pending("SecretInvalidData", fmt.Sprintf("Failed to parse signing CA keypair from secret %s/%s", ns, name), err)
	}
	if err != nil {
		return Result{}, err
	}
	template, err := pki.CertificateTemplateFromCertificateRequest(cr)
	if err != nil {
		return Result{}, failed("SigningError", "Error generating certificate template", err)
	}
	spec := issuer.GetSpec().CA
	template.CRLDistributionPoints = spec.CRLDistributionPoints
	template.OCSPServer = spec.OCSPServers
	template.IssuingCertificateURL = spec.IssuingCertificateURLs
	bundle, err := pki.SignCSRTemplate(caCerts, caKey, template)
	if err != nil {
		return Result{}, failed("SigningError", "Error signing certificate", err)
	}
	return Result{Certificate: bundle.ChainPEM, CA: bundle.CAPEM}, nil
}
