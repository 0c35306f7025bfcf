package signer

import (
	"context"
	"errors"
	"fmt"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// SelfSigned signs a request with the private key it names, as cert-manager's SelfSigned
// issuer does: the certificate is its own issuer and its own CA.
type SelfSigned struct{}

// Setup: a SelfSigned issuer is always ready.
func (SelfSigned) Setup(context.Context, Issuer) Status {
	return Status{Ready: true, Reason: "IsReady"}
}

func (SelfSigned) Sign(ctx context.Context, issuer Issuer, cr *cmapi.CertificateRequest) (Result, error) {
	secretName := cr.Annotations[cmapi.CertificateRequestPrivateKeyAnnotationKey]
	if secretName == "" {
		return Result{}, failed("MissingAnnotation", fmt.Sprintf("Annotation %q missing or reference empty",
			cmapi.CertificateRequestPrivateKeyAnnotationKey), errors.New("secret name missing"))
	}
	secret, err := issuer.GetSecret(ctx, cr.Namespace, secretName)
	if apierrors.IsNotFound(err) {
		return Result{}, pending("MissingSecret", fmt.Sprintf("Referenced secret %s/%s not found", cr.Namespace, secretName), err)
	}
	if err != nil {
		return Result{}, pending("ErrorGettingSecret", fmt.Sprintf("Failed to get private key from secret %s/%s", cr.Namespace, secretName), err)
	}
	key, err := PrivateKey(secret)
	if err != nil {
		return Result{}, pending("ErrorParsingKey", fmt.Sprintf("Failed to get key %q referenced in annotation %q",
			secretName, cmapi.CertificateRequestPrivateKeyAnnotationKey), err)
	}
	template, err := pki.CertificateTemplateFromCertificateRequest(cr)
	if err != nil {
		return Result{}, failed("ErrorGenerating", "Error generating certificate template", err)
	}
	template.CRLDistributionPoints = issuer.GetSpec().SelfSigned.CRLDistributionPoints
	if ok, err := pki.PublicKeysEqual(key.Public(), template.PublicKey); err != nil || !ok {
		if err == nil {
			err = errors.New("CSR not signed by referenced private key")
		}
		return Result{}, failed("ErrorKeyMatch", "Error generating certificate template", err)
	}
	certPEM, _, err := pki.SignCertificate(template, template, key.Public(), key)
	if err != nil {
		return Result{}, failed("ErrorSigning", "Error signing certificate", err)
	}
	return Result{Certificate: certPEM, CA: certPEM}, nil
}
