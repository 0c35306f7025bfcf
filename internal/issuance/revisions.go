package issuance

import (
	"slices"
	"strconv"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

// DefaultRevisionHistoryLimit is cert-manager's default: keep the current request only.
const DefaultRevisionHistoryLimit = 1

// RequestsToPrune returns the requests of crt to delete so that at most
// revisionHistoryLimit of its issued revisions remain, oldest first. Requests above the
// current revision (in flight) and requests without a readable revision are kept.
func RequestsToPrune(crt *cmapi.Certificate, requests []*cmapi.CertificateRequest) []*cmapi.CertificateRequest {
	limit := DefaultRevisionHistoryLimit
	if crt.Spec.RevisionHistoryLimit != nil && *crt.Spec.RevisionHistoryLimit > 0 {
		limit = int(*crt.Spec.RevisionHistoryLimit)
	}
	current := 0
	if crt.Status.Revision != nil {
		current = *crt.Status.Revision
	}
	type revisioned struct {
		rev int
		cr  *cmapi.CertificateRequest
	}
	var issued []revisioned
	for _, cr := range requests {
		rev, err := strconv.Atoi(cr.Annotations[cmapi.CertificateRequestRevisionAnnotationKey])
		if err == nil && rev <= current {
			issued = append(issued, revisioned{rev, cr})
		}
	}
	if len(issued) <= limit {
		return nil
	}
	slices.SortFunc(issued, func(a, b revisioned) int { return a.rev - b.rev })
	var prune []*cmapi.CertificateRequest
	for _, r := range issued[:len(issued)-limit] {
		prune = append(prune, r.cr)
	}
	return prune
}
