// Package controller holds what the operator's controllers share: their options and a
// Workspace handle with the clients for one engaged workspace. Each concern lives in a
// package of its own below this one (issuers, onboarding, certificates,
// certificaterequests) and registers itself with Setup.
package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	mcbuilder "sigs.k8s.io/multicluster-runtime/pkg/builder"
	mccontroller "sigs.k8s.io/multicluster-runtime/pkg/controller"
	mchandler "sigs.k8s.io/multicluster-runtime/pkg/handler"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

	"github.com/platform-mesh/cert-manager-msp/internal/signer"
)

// Options configure every controller.
type Options struct {
	// ClusterResourceNamespace is where, in each workspace, ClusterIssuers keep their
	// Secrets and the default CA lives ("cert-manager", as in cert-manager).
	ClusterResourceNamespace string
	// Signers by issuer type.
	Signers signer.Registry
	// ApproveRequests approves CertificateRequests for the built-in issuers, as
	// cert-manager's internal approver does. Off when an external approver decides.
	ApproveRequests bool
	// InstanceID names this operator process on the objects it writes.
	InstanceID string
	// Clock is real time in production and a fake one in tests.
	Clock clock.PassiveClock
	// Workers is how many reconciles each controller runs at once, across all
	// workspaces; 0 means one.
	Workers int
}

// DefaultWorkers is the operator's default for Options.Workers. cert-manager's is 5, for
// one cluster; here the workers serve every workspace, and a reconcile spends most of
// its time waiting on kcp's virtual workspace, so more of them overlap that wait. With
// 100 accounts ordering at once, 25 took the onboarding median from 11.9 s to 7.7 s,
// with the burst's throughput unchanged (docs/reference/performance.md).
const DefaultWorkers = 25

// ControllerManagedBy starts the builder of every controller here, with the options they
// share. multicluster-runtime's builder does not take the manager's
// MaxConcurrentReconciles (controller-runtime's does), so it is set on each controller.
func ControllerManagedBy(mgr mcmanager.Manager, o Options) *mcbuilder.Builder {
	return mcbuilder.ControllerManagedBy(mgr).WithOptions(mccontroller.Options{MaxConcurrentReconciles: o.Workers})
}

// FieldManager owns what the operator applies server-side.
const FieldManager = "cert-manager-msp"

// InstanceAnnotation records which operator process issued a Certificate's current
// revision, so one can see that a single process serves many workspaces.
const InstanceAnnotation = "cert-manager-msp.platform-mesh.io/issued-by"

// Workspace is one engaged workspace (a kcp logical cluster) as a reconciler sees it.
type Workspace struct {
	Name multicluster.ClusterName
	// Client reads from the operator's cache (only fao-labelled Secrets are cached) and
	// writes to the workspace through the APIExport's virtual workspace.
	Client   client.Client
	Recorder record.EventRecorder
	cluster  cluster.Cluster
}

// GetWorkspace returns the handle for an engaged workspace.
func GetWorkspace(ctx context.Context, mgr mcmanager.Manager, name multicluster.ClusterName, component string) (*Workspace, error) {
	cl, err := mgr.GetCluster(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("workspace %s: %w", name, err)
	}
	return &Workspace{Name: name, Client: cl.GetClient(), Recorder: cl.GetEventRecorderFor(component), cluster: cl}, nil
}

// As is the same workspace with events recorded as component, for one controller acting
// on another's objects, so that events name the controller whose job it is.
func (w *Workspace) As(component string) *Workspace {
	c := *w
	c.Recorder = w.cluster.GetEventRecorderFor(component)
	return &c
}

// Live reads straight from the workspace, for Secrets the operator does not own, such as
// a consumer's CA key pair. It is made only when needed: most reconciles never read
// live. A provider cluster's GetAPIReader returns its cache, so it cannot serve here.
func (w *Workspace) Live() (client.Reader, error) {
	return client.New(w.cluster.GetConfig(), client.Options{
		Scheme: w.cluster.GetScheme(), Mapper: w.cluster.GetRESTMapper(), HTTPClient: w.cluster.GetHTTPClient(),
	})
}

// Requeue after d, rounded up to a second: controller-runtime's RequeueAfter.
func Requeue(d time.Duration) time.Duration {
	if d < time.Second {
		return time.Second
	}
	return d.Truncate(time.Second) + time.Second
}

// GetSecret reads a Secret from the cache when the operator manages it, and live
// otherwise (the cache holds only fao-labelled Secrets).
func (w *Workspace) GetSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	err := w.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, s)
	if apierrors.IsNotFound(err) {
		live, lerr := w.Live()
		if lerr != nil {
			return nil, lerr
		}
		err = live.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, s)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// MapFunc maps an object of one workspace to requests in that same workspace, reading
// through the workspace's cached client. Requests never cross workspaces.
type MapFunc func(ctx context.Context, c client.Client, obj client.Object) []reconcile.Request

// MapInWorkspace turns a MapFunc into a multicluster event handler.
func MapInWorkspace(fn MapFunc) mchandler.EventHandlerFunc {
	return func(name multicluster.ClusterName, cl cluster.Cluster) mchandler.EventHandler {
		return mchandler.ForCluster(handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
			return fn(ctx, cl.GetClient(), obj)
		}), name)
	}
}
