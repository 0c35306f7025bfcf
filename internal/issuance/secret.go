package issuance

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cmutil "github.com/cert-manager/cert-manager/pkg/util"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

// SecretContents is what an issuance puts into a Certificate's Secret.
type SecretContents struct {
	PrivateKey  []byte // PEM, encoded as the spec says
	Certificate []byte // PEM chain, leaf first: tls.crt
	CA          []byte // PEM: ca.crt, left out when empty
	// Passwords for the keystores the spec asks for.
	Passwords KeystorePasswords
}

// RenderSecret is the Secret of crt holding contents, as cert-manager writes it: type
// kubernetes.io/tls, the fao label, the certificate's details and issuer as annotations,
// the secretTemplate merged in (cert-manager's own keys win) and the additional output
// formats and keystores. extra annotations are added last.
func RenderSecret(crt *cmapi.Certificate, contents SecretContents, extra map[string]string) (*corev1ac.SecretApplyConfiguration, error) {
	leaf, err := pki.DecodeX509CertificateBytes(contents.Certificate)
	if err != nil {
		return nil, fmt.Errorf("decoding the issued certificate: %w", err)
	}
	annotations, err := certificateAnnotations(crt, leaf)
	if err != nil {
		return nil, err
	}
	labels := map[string]string{cmapi.PartOfCertManagerControllerLabelKey: "true"}
	if t := crt.Spec.SecretTemplate; t != nil {
		annotations = merged(t.Annotations, annotations)
		labels = merged(t.Labels, labels)
	}
	maps.Copy(annotations, extra)

	data := map[string][]byte{
		corev1.TLSCertKey:       contents.Certificate,
		corev1.TLSPrivateKeyKey: contents.PrivateKey,
	}
	if len(contents.CA) > 0 {
		data[cmmeta.TLSCAKey] = contents.CA
	}
	for _, f := range crt.Spec.AdditionalOutputFormats {
		switch f.Type {
		case cmapi.CertificateOutputFormatDER:
			block, _ := pem.Decode(contents.PrivateKey)
			if block == nil {
				return nil, fmt.Errorf("private key is not PEM")
			}
			data[cmapi.CertificateOutputFormatDERKey] = block.Bytes
		case cmapi.CertificateOutputFormatCombinedPEM:
			data[cmapi.CertificateOutputFormatCombinedPEMKey] = bytes.Join([][]byte{contents.PrivateKey, contents.Certificate}, []byte("\n"))
		}
	}
	stores, err := keystores(crt, contents)
	if err != nil {
		return nil, err
	}
	maps.Copy(data, stores)
	return corev1ac.Secret(crt.Spec.SecretName, crt.Namespace).
		WithType(corev1.SecretTypeTLS).
		WithLabels(labels).
		WithAnnotations(annotations).
		WithData(data), nil
}

// certificateAnnotations are the issuer and certificate-detail annotations. As in
// cert-manager, common-name and the SAN lists are always written (possibly empty); the
// subject fields and email SANs only when set. Lists are CSV with escaping.
func certificateAnnotations(crt *cmapi.Certificate, leaf *x509.Certificate) (map[string]string, error) {
	ref := crt.Spec.IssuerRef
	a := map[string]string{
		cmapi.CertificateNameKey:       crt.Name,
		cmapi.IssuerNameAnnotationKey:  ref.Name,
		cmapi.IssuerKindAnnotationKey:  cmapiutil.IssuerKind(ref),
		cmapi.IssuerGroupAnnotationKey: ref.Group,
		cmapi.CommonNameAnnotationKey:  leaf.Subject.CommonName,
	}
	if leaf.Subject.SerialNumber != "" {
		a[cmapi.SubjectSerialNumberAnnotationKey] = leaf.Subject.SerialNumber
	}
	lists := []struct {
		key       string
		values    []string
		keepEmpty bool
	}{
		{cmapi.SubjectOrganizationsAnnotationKey, leaf.Subject.Organization, false},
		{cmapi.SubjectOrganizationalUnitsAnnotationKey, leaf.Subject.OrganizationalUnit, false},
		{cmapi.SubjectCountriesAnnotationKey, leaf.Subject.Country, false},
		{cmapi.SubjectProvincesAnnotationKey, leaf.Subject.Province, false},
		{cmapi.SubjectLocalitiesAnnotationKey, leaf.Subject.Locality, false},
		{cmapi.SubjectPostalCodesAnnotationKey, leaf.Subject.PostalCode, false},
		{cmapi.SubjectStreetAddressesAnnotationKey, leaf.Subject.StreetAddress, false},
		{cmapi.EmailsAnnotationKey, leaf.EmailAddresses, false},
		{cmapi.AltNamesAnnotationKey, leaf.DNSNames, true},
		{cmapi.IPSANAnnotationKey, pki.IPAddressesToString(leaf.IPAddresses), true},
		{cmapi.URISANAnnotationKey, pki.URLsToString(leaf.URIs), true},
	}
	for _, l := range lists {
		if len(l.values) == 0 && !l.keepEmpty {
			continue
		}
		csv, err := cmutil.JoinWithEscapeCSV(l.values)
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", l.key, err)
		}
		a[l.key] = csv
	}
	return a, nil
}

func merged(base, override map[string]string) map[string]string {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, override)
	return out
}
