package certificates

import (
	"context"
	"strings"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/platform-mesh/cert-manager-msp/internal/controller"
	"github.com/platform-mesh/cert-manager-msp/internal/issuance"
)

// trigger sets Issuing=True (in memory, written after the last step) when the first failing check of the trigger chain says so,
// unless the Certificate is already issuing, is backing off after a failure, or shares
// its Secret with an older Certificate. Otherwise it comes back at the renewal time.
func trigger(ctx context.Context, s *state) (reconcile.Result, error) {
	if cmapiutil.CertificateHasCondition(s.crt, issuingTrue) {
		return reconcile.Result{}, nil
	}
	in, err := s.input(ctx)
	if err != nil {
		return reconcile.Result{}, err
	}
	if owner, err := secretOwner(ctx, s, in.Secret); err != nil || owner != s.crt.Name {
		if err == nil {
			log.FromContext(ctx).V(1).Info("Secret is written by another Certificate; not issuing", "owner", owner)
		}
		return reconcile.Result{}, err
	}
	next, err := s.request(ctx, s.revision()+1)
	if err != nil {
		return reconcile.Result{}, err
	}
	if wait := issuance.BackoffRemaining(s.crt, next, s.now); wait > 0 {
		log.FromContext(ctx).V(1).Info("Backing off after a failed issuance", "retryIn", wait)
		return reconcile.Result{RequeueAfter: controller.Requeue(wait)}, nil
	}
	verdict := issuance.TriggerChain.Evaluate(in)
	if verdict.Failed() {
		// The cache can lag the Secret the issuing controller has just written, by
		// seconds while a watch reconnects (after a kcp restart, say). Issuing is costly
		// and visible, so confirm the verdict against kcp before starting an issuance.
		in.Secret, err = s.liveSecret(ctx)
		if apierrors.IsForbidden(err) {
			log.FromContext(ctx).V(1).Info("Secrets claim not accepted; not issuing")
			return reconcile.Result{RequeueAfter: unclaimedRetry}, nil
		}
		if err != nil {
			return reconcile.Result{}, err
		}
		verdict = issuance.TriggerChain.Evaluate(in)
	}
	if !verdict.Failed() {
		return requeueAtRenewal(s)
	}
	if errs := issuance.ValidateSpec(s.crt); len(errs) > 0 {
		refuseInvalidSpec(s, strings.Join(errs, "; "))
		return reconcile.Result{}, nil
	}
	cmapiutil.SetCertificateCondition(s.crt, s.crt.Generation, cmapi.CertificateConditionIssuing, cmmeta.ConditionTrue, verdict.Reason, verdict.Message)
	s.ws.Recorder.Event(s.crt, corev1.EventTypeNormal, "Issuing", verdict.Message)
	return reconcile.Result{}, nil
}

var issuingTrue = cmapi.CertificateCondition{Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionTrue}

// requeueAtRenewal comes back when the Certificate is due for renewal.
func requeueAtRenewal(s *state) (reconcile.Result, error) {
	if rt := s.crt.Status.RenewalTime; rt != nil {
		return reconcile.Result{RequeueAfter: controller.Requeue(rt.Sub(s.now))}, nil
	}
	return reconcile.Result{}, nil
}

// secretOwner is the Certificate of this namespace that may write the Secret.
func secretOwner(ctx context.Context, s *state, secret *corev1.Secret) (string, error) {
	crts, err := certificatesNaming(ctx, s.ws.Client, s.crt.Namespace, s.crt.Spec.SecretName)
	if err != nil {
		return "", err
	}
	same := make([]*cmapi.Certificate, len(crts))
	for i := range crts {
		same[i] = &crts[i]
	}
	if len(same) == 0 { // the cache has not seen this Certificate yet
		return s.crt.Name, nil
	}
	return issuance.SecretOwner(same, secret), nil
}

// refuseInvalidSpec records, once per spec generation, that the spec is not issued as it
// stands: Issuing=False with reason InvalidSpec and a message naming the fields. Fixing
// the spec issues at once; there is no backoff for this.
func refuseInvalidSpec(s *state, message string) {
	cond := cmapiutil.GetCertificateCondition(s.crt, cmapi.CertificateConditionIssuing)
	if cond != nil && cond.Reason == issuance.ReasonInvalidSpec && cond.Message == message && cond.ObservedGeneration == s.crt.Generation {
		return
	}
	cmapiutil.SetCertificateCondition(s.crt, s.crt.Generation, cmapi.CertificateConditionIssuing, cmmeta.ConditionFalse, issuance.ReasonInvalidSpec, message)
	s.ws.Recorder.Event(s.crt, corev1.EventTypeWarning, issuance.ReasonInvalidSpec, message)
}
