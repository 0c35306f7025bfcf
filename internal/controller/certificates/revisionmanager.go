package certificates

import (
	"context"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/platform-mesh/cert-manager-msp/internal/issuance"
)

// revisionManager deletes a Ready Certificate's oldest CertificateRequests beyond its
// revisionHistoryLimit (1 by default).
func revisionManager(ctx context.Context, s *state) (reconcile.Result, error) {
	ready := cmapi.CertificateCondition{Type: cmapi.CertificateConditionReady, Status: cmmeta.ConditionTrue}
	if !cmapiutil.CertificateHasCondition(s.crt, ready) {
		return reconcile.Result{}, nil
	}
	list := &cmapi.CertificateRequestList{}
	if err := listControlledBy(ctx, s.ws.Client, list, s.crt); err != nil {
		return reconcile.Result{}, err
	}
	var owned []*cmapi.CertificateRequest
	for i := range list.Items {
		if metav1.IsControlledBy(&list.Items[i], s.crt) {
			owned = append(owned, &list.Items[i])
		}
	}
	for _, cr := range issuance.RequestsToPrune(s.crt, owned) {
		if err := s.ws.Client.Delete(ctx, cr, client.Preconditions{UID: &cr.UID}); client.IgnoreNotFound(err) != nil {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{}, nil
}
