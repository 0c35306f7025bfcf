// Package issuers keeps the Ready condition of Issuers and ClusterIssuers in every
// workspace, as the signer for each issuer's type reports it.
package issuers

import (
	"context"
	"time"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"

	"github.com/platform-mesh/cert-manager-msp/internal/controller"
	"github.com/platform-mesh/cert-manager-msp/internal/signer"
)

// recheck is how often an issuer is verified again without an event. A consumer's own
// CA Secret is not cached (only the operator's Secrets are), so its changes are seen on
// this schedule rather than at once.
const recheck = 5 * time.Minute

// notReadyRetry is how soon an issuer that is not ready is checked again.
const notReadyRetry = 15 * time.Second

// Setup registers the Issuer and the ClusterIssuer controllers.
func Setup(mgr mcmanager.Manager, opts controller.Options) error {
	for _, kind := range []kind{issuerKind(opts), clusterIssuerKind(opts)} {
		r := &reconciler{mgr: mgr, opts: opts, kind: kind}
		err := controller.ControllerManagedBy(mgr, opts).
			Named(kind.name).
			For(kind.newObject()).
			Watches(&corev1.Secret{}, controller.MapInWorkspace(r.issuersUsingSecret)).
			Complete(r)
		if err != nil {
			return err
		}
	}
	return nil
}

// kind abstracts over Issuer (namespaced) and ClusterIssuer.
type kind struct {
	name              string
	newObject         func() cmapi.GenericIssuer
	list              func(ctx context.Context, c client.Reader, namespace string) ([]cmapi.GenericIssuer, error)
	resourceNamespace func(cmapi.GenericIssuer) string
}

func issuerKind(controller.Options) kind {
	return kind{
		name:      "issuers",
		newObject: func() cmapi.GenericIssuer { return &cmapi.Issuer{} },
		list: func(ctx context.Context, c client.Reader, ns string) ([]cmapi.GenericIssuer, error) {
			l := &cmapi.IssuerList{}
			if err := c.List(ctx, l, client.InNamespace(ns)); err != nil {
				return nil, err
			}
			out := make([]cmapi.GenericIssuer, len(l.Items))
			for i := range l.Items {
				out[i] = &l.Items[i]
			}
			return out, nil
		},
		resourceNamespace: func(i cmapi.GenericIssuer) string { return i.GetNamespace() },
	}
}

func clusterIssuerKind(opts controller.Options) kind {
	return kind{
		name:      "clusterissuers",
		newObject: func() cmapi.GenericIssuer { return &cmapi.ClusterIssuer{} },
		list: func(ctx context.Context, c client.Reader, ns string) ([]cmapi.GenericIssuer, error) {
			if ns != opts.ClusterResourceNamespace {
				return nil, nil
			}
			l := &cmapi.ClusterIssuerList{}
			if err := c.List(ctx, l); err != nil {
				return nil, err
			}
			out := make([]cmapi.GenericIssuer, len(l.Items))
			for i := range l.Items {
				out[i] = &l.Items[i]
			}
			return out, nil
		},
		resourceNamespace: func(cmapi.GenericIssuer) string { return opts.ClusterResourceNamespace },
	}
}

type reconciler struct {
	mgr  mcmanager.Manager
	opts controller.Options
	kind kind
}

func (r *reconciler) Reconcile(ctx context.Context, req mcreconcile.Request) (reconcile.Result, error) {
	ws, err := controller.GetWorkspace(ctx, r.mgr, req.ClusterName, "cert-manager-"+r.kind.name)
	if err != nil {
		return reconcile.Result{}, err
	}
	issuer := r.kind.newObject()
	if err := ws.Client.Get(ctx, req.NamespacedName, issuer); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	status := r.setup(ctx, ws, issuer)

	before := issuer.DeepCopyObject().(cmapi.GenericIssuer)
	condStatus := cmmeta.ConditionFalse
	if status.Ready {
		condStatus = cmmeta.ConditionTrue
	}
	cmapiutil.SetIssuerCondition(issuer, issuer.GetGeneration(), cmapi.IssuerConditionReady, condStatus, status.Reason, status.Message)
	if controller.StatusChanged(before.GetStatus(), issuer.GetStatus()) {
		if err := ws.Client.Status().Update(ctx, issuer); err != nil {
			return controller.RequeueOnConflict(reconcile.Result{}, client.IgnoreNotFound(err))
		}
		// After the write, so that a write lost to a conflict and retried does not
		// announce the same change twice.
		eventType := corev1.EventTypeNormal
		if !status.Ready {
			eventType = corev1.EventTypeWarning
		}
		ws.Recorder.Event(issuer, eventType, status.Reason, status.Message)
	}
	switch {
	case !status.Ready:
		return reconcile.Result{RequeueAfter: notReadyRetry}, nil
	case issuer.GetSpec().CA != nil:
		return reconcile.Result{RequeueAfter: recheck}, nil
	}
	return reconcile.Result{}, nil
}

func (r *reconciler) setup(ctx context.Context, ws *controller.Workspace, issuer cmapi.GenericIssuer) signer.Status {
	s, unsupported := r.opts.Signers.For(issuer)
	if unsupported != nil {
		return *unsupported
	}
	return s.Setup(ctx, signer.Issuer{
		GenericIssuer: issuer, ResourceNamespace: r.kind.resourceNamespace(issuer), GetSecret: ws.GetSecret,
	})
}

// issuersUsingSecret maps a (cached, so operator-managed) Secret to the issuers of this
// kind in its workspace that name it as their CA.
func (r *reconciler) issuersUsingSecret(ctx context.Context, c client.Client, obj client.Object) []reconcile.Request {
	issuers, err := r.kind.list(ctx, c, obj.GetNamespace())
	if err != nil && !apierrors.IsNotFound(err) {
		return nil
	}
	var reqs []reconcile.Request
	for _, i := range issuers {
		if ca := i.GetSpec().CA; ca != nil && ca.SecretName == obj.GetName() {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(i)})
		}
	}
	return reqs
}
