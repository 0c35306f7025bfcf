package issuance

import (
	"fmt"
	"time"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

// ReasonInvalidSpec is the Issuing reason for a spec that is not issued as it stands.
const ReasonInvalidSpec = "InvalidSpec"

// MinimumDuration is cert-manager's shortest certificate lifetime.
const MinimumDuration = time.Hour

// ValidateSpec returns what cert-manager's admission webhook would reject in crt's spec
// and the operator can check itself, each naming the field. The schema's CEL rules
// reject these at admission; this catches a spec stored before the schema had them.
func ValidateSpec(crt *cmapi.Certificate) []string {
	var errs []string
	spec := crt.Spec
	duration := cmapiutil.DefaultCertDuration(spec.Duration)
	if duration < MinimumDuration {
		errs = append(errs, fmt.Sprintf("spec.duration: %v is less than the minimum of %v", duration, MinimumDuration))
	}
	if spec.RenewBefore != nil && spec.RenewBefore.Duration >= duration {
		errs = append(errs, fmt.Sprintf("spec.renewBefore: %v must be shorter than spec.duration (%v)", spec.RenewBefore.Duration, duration))
	}
	if spec.CommonName == "" && len(spec.DNSNames) == 0 && len(spec.URIs) == 0 && len(spec.IPAddresses) == 0 &&
		len(spec.EmailAddresses) == 0 && len(spec.OtherNames) == 0 && spec.LiteralSubject == "" {
		errs = append(errs, "spec: at least one of commonName, literalSubject, dnsNames, uriSANs, ipAddresses, emailSANs or otherNames must be set")
	}
	return errs
}
