// Package certificaterequests approves and signs CertificateRequests in every workspace,
// as cert-manager's approver and its request controllers for the built-in issuers do.
package certificaterequests

import (
	"context"
	"errors"
	"fmt"
	"time"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	"github.com/cert-manager/cert-manager/pkg/apis/certmanager"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"

	"github.com/platform-mesh/cert-manager-msp/internal/controller"
	"github.com/platform-mesh/cert-manager-msp/internal/signer"
)

const (
	// ApprovedReason and ApprovedMessage are cert-manager's own.
	ApprovedReason  = "cert-manager.io"
	ApprovedMessage = "Certificate request has been approved by cert-manager.io"
	readyMessage    = "Certificate fetched from issuer successfully"
	deniedMessage   = "The CertificateRequest was denied by an approval controller"
	// pendingRetry is how soon a Pending request is tried again without an event.
	pendingRetry = 15 * time.Second
)

// Setup registers the approver (unless an external approver decides) and the signer.
func Setup(mgr mcmanager.Manager, opts controller.Options) error {
	r := &reconciler{mgr: mgr, opts: opts}
	b := controller.ControllerManagedBy(mgr, opts).
		Named("certificaterequests").
		For(&cmapi.CertificateRequest{}).
		Watches(&cmapi.Issuer{}, controller.MapInWorkspace(requestsForIssuer)).
		Watches(&cmapi.ClusterIssuer{}, controller.MapInWorkspace(requestsForIssuer))
	return b.Complete(r)
}

type reconciler struct {
	mgr  mcmanager.Manager
	opts controller.Options
}

// Reconcile approves a new request (when this operator approves), then signs an approved
// one, and writes the outcome in one status update.
func (r *reconciler) Reconcile(ctx context.Context, req mcreconcile.Request) (reconcile.Result, error) {
	ws, err := controller.GetWorkspace(ctx, r.mgr, req.ClusterName, Component)
	if err != nil {
		return reconcile.Result{}, err
	}
	cr := &cmapi.CertificateRequest{}
	if err := ws.Client.Get(ctx, req.NamespacedName, cr); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if wait := leftToCertificate(cr, r.opts); wait > 0 {
		return reconcile.Result{RequeueAfter: wait}, nil
	}
	return controller.RequeueOnConflict(Settle(ctx, ws, r.opts, cr, ws.GetSecret))
}

// Component names this controller in events.
const Component = "cert-manager-certificaterequests"

// Settle approves (when this operator approves) and signs a request for a built-in
// issuer, and writes the outcome in one status update. This controller calls it, and so
// does the Certificate controller for the request it has just created: signing there
// saves a round trip through kcp's watch to this controller. getSecret reads the
// workspace's Secrets; a caller that has just written some passes a reader that sees them.
// When the status write fails, the error says so (a conflict too), and cr's status in
// memory is not what kcp holds.
func Settle(ctx context.Context, ws *controller.Workspace, opts controller.Options, cr *cmapi.CertificateRequest, getSecret signer.SecretGetter) (reconcile.Result, error) {
	if !builtInIssuer(cr.Spec.IssuerRef) {
		return reconcile.Result{}, nil // an external issuer's request
	}
	before := cr.Status.DeepCopy()
	approve(ws, opts, cr)
	res, err := sign(ctx, ws, opts, cr, getSecret)
	if controller.StatusChanged(before, &cr.Status) {
		if uerr := ws.Client.Status().Update(ctx, cr); uerr != nil {
			return reconcile.Result{}, errors.Join(err, uerr)
		}
	}
	return res, err
}

// InlineGrace is how long this controller leaves a new request of a Certificate to the
// Certificate controller, which settles the requests it creates itself. After that (the
// operator stopped between creating and settling it), this controller settles it.
const InlineGrace = 5 * time.Second

// leftToCertificate is how much longer cr is left to the Certificate controller: while it
// is young, untouched, and the Certificate controller could have settled it (this
// operator approves; with an external approver, nothing is settled inline).
func leftToCertificate(cr *cmapi.CertificateRequest, opts controller.Options) time.Duration {
	owner := metav1.GetControllerOf(cr)
	if !opts.ApproveRequests || !builtInIssuer(cr.Spec.IssuerRef) || len(cr.Status.Conditions) > 0 ||
		owner == nil || owner.Kind != cmapi.CertificateKind {
		return 0
	}
	return max(0, cr.CreationTimestamp.Add(InlineGrace).Sub(opts.Clock.Now()))
}

func builtInIssuer(ref cmmeta.IssuerReference) bool {
	return ref.Group == "" || ref.Group == certmanager.GroupName
}

func approve(ws *controller.Workspace, opts controller.Options, cr *cmapi.CertificateRequest) {
	if !opts.ApproveRequests || cmapiutil.CertificateRequestIsApproved(cr) || cmapiutil.CertificateRequestIsDenied(cr) {
		return
	}
	cmapiutil.SetCertificateRequestCondition(cr, cmapi.CertificateRequestConditionApproved, cmmeta.ConditionTrue, ApprovedReason, ApprovedMessage)
	ws.Recorder.Event(cr, corev1.EventTypeNormal, ApprovedReason, ApprovedMessage)
}

// sign runs cert-manager's request state machine for the built-in issuers.
func sign(ctx context.Context, ws *controller.Workspace, opts controller.Options, cr *cmapi.CertificateRequest, getSecret signer.SecretGetter) (reconcile.Result, error) {
	now := metav1.NewTime(opts.Clock.Now())
	switch {
	case cmapiutil.CertificateRequestIsDenied(cr):
		cr.Status.FailureTime = ptr.To(ptr.Deref(cr.Status.FailureTime, now))
		setReady(cr, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonDenied, deniedMessage)
		return reconcile.Result{}, nil
	case cmapiutil.CertificateRequestHasInvalidRequest(cr), len(cr.Status.Certificate) > 0:
		return reconcile.Result{}, nil
	case !cmapiutil.CertificateRequestIsApproved(cr):
		return reconcile.Result{}, nil // an approver decides; its write brings us back
	}
	switch cmapiutil.CertificateRequestReadyReason(cr) {
	case cmapi.CertificateRequestReasonFailed, cmapi.CertificateRequestReasonIssued:
		return reconcile.Result{}, nil
	}
	issuer, err := getIssuer(ctx, ws.Client, cr)
	if apierrors.IsNotFound(err) {
		pending(ws, cr, "IssuerNotFound", fmt.Sprintf("Referenced %q not found", cmapiutil.IssuerKind(cr.Spec.IssuerRef)))
		return reconcile.Result{}, nil // the issuer's creation brings us back
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	if !cmapiutil.IssuerHasCondition(issuer, cmapi.IssuerCondition{Type: cmapi.IssuerConditionReady, Status: cmmeta.ConditionTrue}) {
		pending(ws, cr, "IssuerNotReady", "Referenced issuer does not have a Ready status condition")
		return reconcile.Result{}, nil
	}
	s, unsupported := opts.Signers.For(issuer)
	if unsupported != nil {
		pending(ws, cr, unsupported.Reason, unsupported.Message)
		return reconcile.Result{}, nil
	}
	res, err := s.Sign(ctx, signer.Issuer{GenericIssuer: issuer, ResourceNamespace: resourceNamespace(opts, issuer), GetSecret: getSecret}, cr)
	var outcome *signer.Outcome
	switch {
	case errors.As(err, &outcome) && outcome.Pending:
		pending(ws, cr, outcome.Reason, outcome.Message)
		return reconcile.Result{RequeueAfter: pendingRetry}, nil
	case errors.As(err, &outcome):
		failed(ws, cr, now, outcome.Reason, outcome.Message)
		return reconcile.Result{}, nil
	case err != nil:
		return reconcile.Result{}, err
	}
	if _, err := pki.DecodeX509CertificateBytes(res.Certificate); err != nil {
		failed(ws, cr, now, "DecodeError", "Failed to decode returned certificate")
		return reconcile.Result{}, nil
	}
	cr.Status.Certificate, cr.Status.CA = res.Certificate, res.CA
	setReady(cr, cmmeta.ConditionTrue, cmapi.CertificateRequestReasonIssued, readyMessage)
	ws.Recorder.Event(cr, corev1.EventTypeNormal, "CertificateIssued", readyMessage)
	return reconcile.Result{}, nil
}

func resourceNamespace(opts controller.Options, issuer cmapi.GenericIssuer) string {
	if _, ok := issuer.(*cmapi.ClusterIssuer); ok {
		return opts.ClusterResourceNamespace
	}
	return issuer.GetNamespace()
}

func getIssuer(ctx context.Context, c client.Reader, cr *cmapi.CertificateRequest) (cmapi.GenericIssuer, error) {
	ref := cr.Spec.IssuerRef
	if cmapiutil.IssuerKind(ref) == cmapi.ClusterIssuerKind {
		ci := &cmapi.ClusterIssuer{}
		return ci, c.Get(ctx, client.ObjectKey{Name: ref.Name}, ci)
	}
	if cmapiutil.IssuerKind(ref) != cmapi.IssuerKind {
		return nil, apierrors.NewNotFound(cmapi.Resource(ref.Kind), ref.Name)
	}
	i := &cmapi.Issuer{}
	return i, c.Get(ctx, client.ObjectKey{Namespace: cr.Namespace, Name: ref.Name}, i)
}

func setReady(cr *cmapi.CertificateRequest, status cmmeta.ConditionStatus, reason, message string) {
	cmapiutil.SetCertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady, status, reason, message)
}

// pending keeps Ready=False with reason Pending; the event (with the specific reason) is
// sent only when the request was not already pending, as in cert-manager.
func pending(ws *controller.Workspace, cr *cmapi.CertificateRequest, reason, message string) {
	if cmapiutil.CertificateRequestReadyReason(cr) != cmapi.CertificateRequestReasonPending {
		ws.Recorder.Event(cr, corev1.EventTypeNormal, reason, message)
	}
	setReady(cr, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonPending, message)
}

func failed(ws *controller.Workspace, cr *cmapi.CertificateRequest, now metav1.Time, reason, message string) {
	cr.Status.FailureTime = ptr.To(ptr.Deref(cr.Status.FailureTime, now))
	ws.Recorder.Event(cr, corev1.EventTypeWarning, reason, message)
	setReady(cr, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonFailed, message)
}

// requestsForIssuer maps an issuer to the unfinished requests that reference it.
func requestsForIssuer(ctx context.Context, c client.Client, obj client.Object) []reconcile.Request {
	list := &cmapi.CertificateRequestList{}
	var opts []client.ListOption
	kind := cmapi.ClusterIssuerKind
	if _, ok := obj.(*cmapi.Issuer); ok {
		kind = cmapi.IssuerKind
		opts = append(opts, client.InNamespace(obj.GetNamespace()))
	}
	if err := c.List(ctx, list, opts...); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for _, cr := range list.Items {
		if cr.Spec.IssuerRef.Name == obj.GetName() && cmapiutil.IssuerKind(cr.Spec.IssuerRef) == kind &&
			cmapiutil.CertificateRequestReadyReason(&cr) != cmapi.CertificateRequestReasonIssued {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&cr)})
		}
	}
	return reqs
}
