package issuance

import (
	"slices"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	corev1 "k8s.io/api/core/v1"
)

// Backoff after failed issuances: 1h, doubling per failed attempt, capped at 32h.
const (
	InitialBackoff = time.Hour
	MaxBackoff     = 32 * time.Hour
)

// BackoffRemaining is how long crt must still wait before it is issued again after a
// failure; zero when it need not wait. There is no wait once the spec changed since
// the failed request (nextRequest), so a fix is tried at once.
func BackoffRemaining(crt *cmapi.Certificate, nextRequest *cmapi.CertificateRequest, now time.Time) time.Duration {
	if crt.Status.LastFailureTime == nil {
		return 0
	}
	if nextRequest != nil {
		violations, err := pki.RequestMatchesSpec(nextRequest, crt.Spec)
		if err != nil || len(violations) > 0 {
			return 0
		}
	}
	delay := InitialBackoff
	if n := crt.Status.FailedIssuanceAttempts; n != nil && *n > 1 {
		delay = InitialBackoff << min(*n-1, 5) // 2^5 h = 32h
	}
	return max(delay-now.Sub(crt.Status.LastFailureTime.Time), 0)
}

// SecretOwner is the name of the Certificate that may write the Secret that several
// Certificates in one namespace name as secretName: the one the Secret says it was issued
// for, or else the oldest (by name on a tie). Only the owner is issued; the others wait.
func SecretOwner(sameSecret []*cmapi.Certificate, secret *corev1.Secret) string {
	if len(sameSecret) == 0 {
		return ""
	}
	names := make([]string, len(sameSecret))
	for i, c := range sameSecret {
		names[i] = c.Name
	}
	if secret != nil {
		if name, ok := secret.Annotations[cmapi.CertificateNameKey]; ok && slices.Contains(names, name) {
			return name
		}
	}
	oldest := slices.MinFunc(sameSecret, func(a, b *cmapi.Certificate) int {
		if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return strings.Compare(a.Name, b.Name)
		}
		if a.CreationTimestamp.Before(&b.CreationTimestamp) {
			return -1
		}
		return 1
	})
	return oldest.Name
}
