package issuance

import (
	"crypto"
	"encoding/pem"
	"fmt"
	"maps"
	"strconv"
	"strings"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CertificateGVK is the Certificate kind, for owner references.
var CertificateGVK = cmapi.SchemeGroupVersion.WithKind(cmapi.CertificateKind)

// annotationsNotCopied are left off CertificateRequests, as in cert-manager's default
// --copied-annotation-prefixes (*,-kubectl.kubernetes.io/,-fluxcd.io/,-argocd.argoproj.io/).
var annotationsNotCopied = []string{"kubectl.kubernetes.io/", "fluxcd.io/", "argocd.argoproj.io/"}

// RequestName is the CertificateRequest of a Certificate's revision: stable, so that a
// retried create of the same revision finds the first one instead of issuing twice.
func RequestName(crt *cmapi.Certificate, revision int) (string, error) {
	base, err := cmapiutil.ComputeSecureUniqueDeterministicNameFromData(crt.Name, 233)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s-%d", base, revision), nil
}

// NewRequest builds the CertificateRequest for the next revision of crt, with a CSR
// signed by key, the stored next private key's Secret name, crt's labels, and its
// annotations less those of deployment tools.
func NewRequest(crt *cmapi.Certificate, key crypto.Signer, revision int, keySecretName string) (*cmapi.CertificateRequest, error) {
	csr, err := pki.GenerateCSR(crt, pki.WithUseLiteralSubject(true), pki.WithNameConstraints(true), pki.WithOtherNames(true))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSpec, err)
	}
	der, err := pki.EncodeCSR(csr, key)
	if err != nil {
		return nil, err
	}
	name, err := RequestName(crt, revision)
	if err != nil {
		return nil, err
	}
	annotations := copiedAnnotations(crt.Annotations)
	annotations[cmapi.CertificateRequestRevisionAnnotationKey] = strconv.Itoa(revision)
	annotations[cmapi.CertificateRequestPrivateKeyAnnotationKey] = keySecretName
	annotations[cmapi.CertificateNameKey] = crt.Name
	return &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       crt.Namespace,
			Annotations:     annotations,
			Labels:          maps.Clone(crt.Labels),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(crt, CertificateGVK)},
		},
		Spec: cmapi.CertificateRequestSpec{
			Duration:  crt.Spec.Duration,
			IssuerRef: crt.Spec.IssuerRef,
			Request:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			IsCA:      crt.Spec.IsCA,
			Usages:    crt.Spec.Usages,
		},
	}, nil
}

func copiedAnnotations(in map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range in {
		if !hasAnyPrefix(k, annotationsNotCopied) {
			out[k] = v
		}
	}
	return out
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
