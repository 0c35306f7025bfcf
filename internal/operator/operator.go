// Package operator wires the cert-manager-msp operator: one multicluster-runtime manager
// on kcp's apiexport provider, which turns every workspace bound to the APIExport into
// an engaged "cluster" served through the export's virtual workspace, and the controllers
// that act in those workspaces.
package operator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	kcpprovider "github.com/kcp-dev/multicluster-provider/pkg/provider"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

	"github.com/platform-mesh/cert-manager-msp/internal/kcp"
	"github.com/platform-mesh/cert-manager-msp/internal/metrics"
	"github.com/platform-mesh/cert-manager-msp/internal/provider"
)

// Scheme knows kcp's types and cert-manager's.
var Scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(kcp.AddToScheme(Scheme))
	utilruntime.Must(cmapi.AddToScheme(Scheme))
}

// Controller registers one controller with the manager. Controllers plug in here.
type Controller func(mgr mcmanager.Manager) error

// Options configure the operator.
type Options struct {
	// EndpointSliceName is the APIExportEndpointSlice in the provider workspace.
	EndpointSliceName string
	// MetricsAddr, HealthAddr and PprofAddr are bind addresses; "0" or "" disables.
	MetricsAddr string
	HealthAddr  string
	PprofAddr   string
	// LeaderElection makes only one of several replicas reconcile. The Lease lives in
	// LeaderElectionNamespace of the provider workspace (cfg's cluster), which every
	// replica reaches wherever it runs; the durations are client-go's.
	LeaderElection          bool
	LeaderElectionNamespace string
	LeaseDuration           time.Duration
	RenewDeadline           time.Duration
	RetryPeriod             time.Duration
	// QPS and Burst limit the operator's client towards kcp (client-go's token bucket);
	QPS   float32
	Burst int
	// Controllers are registered in order.
	Controllers []Controller
}

// startupBackoff spans about 18 s.
var startupBackoff = wait.Backoff{Duration: 250 * time.Millisecond, Factor: 2, Steps: 8, Cap: 5 * time.Second}

// New builds the manager. cfg must point at the provider workspace (not at the virtual
// workspace): the provider reads the endpoint slice there and swaps only the host for
// the virtual workspace URLs it lists, so cfg's credentials must be valid on both.
func New(cfg *rest.Config, opts Options) (mcmanager.Manager, error) {
	if opts.EndpointSliceName == "" {
		opts.EndpointSliceName = provider.EndpointSliceName
	}
	if opts.QPS != 0 {
		cfg = rest.CopyConfig(cfg)
		cfg.QPS, cfg.Burst = opts.QPS, opts.Burst
	}
	// The provider reads the endpoint slice as it is made. Right after a bootstrap kcp
	// may not yet authorize the operator's new binding (its RBAC caches lag by a moment),
	// so give kcp a few seconds before giving up, rather than leave that to a restart.
	var p *kcpprovider.Provider
	err := retry.OnError(startupBackoff, func(error) bool { return true }, func() error {
		var err error
		if p, err = newProvider(cfg, opts.EndpointSliceName, Scheme); err != nil {
			log.Log.Info("Cannot read the APIExportEndpointSlice yet; retrying", "error", err.Error())
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("creating the apiexport provider: %w", err)
	}
	mgr, err := mcmanager.New(cfg, p, manager.Options{
		Scheme:                  Scheme,
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:  opts.HealthAddr,
		PprofBindAddress:        opts.PprofAddr,
		LeaderElection:          opts.LeaderElection,
		LeaderElectionID:        "cert-manager-msp",
		LeaderElectionNamespace: opts.LeaderElectionNamespace,
		LeaseDuration:           durationOrNil(opts.LeaseDuration),
		RenewDeadline:           durationOrNil(opts.RenewDeadline),
		RetryPeriod:             durationOrNil(opts.RetryPeriod),
		// main exits as soon as the manager returns, so the Lease can be handed over at
		// once instead of after LeaseDuration.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	if opts.HealthAddr != "" && opts.HealthAddr != "0" {
		if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
			return nil, err
		}
		if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
			return nil, err
		}
	}
	fleet := &fleet{log: log.Log.WithName("workspaces"), engaged: map[multicluster.ClusterName]cluster.Cluster{}}
	if err := mgr.Add(fleet); err != nil {
		return nil, err
	}
	// One collector per process; a second operator in the same process (tests) reuses it.
	err = ctrlmetrics.Registry.Register(&metrics.CertificateCollector{Workspaces: fleet.readers})
	if err != nil && !errors.As(err, &prometheus.AlreadyRegisteredError{}) {
		return nil, err
	}
	for _, setup := range opts.Controllers {
		if err := setup(mgr); err != nil {
			return nil, err
		}
	}
	return mgr, nil
}

// durationOrNil leaves a zero duration to controller-runtime's default.
func durationOrNil(d time.Duration) *time.Duration {
	if d == 0 {
		return nil
	}
	return &d
}

// fleet knows the engaged workspaces and logs each as it is engaged and disengaged, so
// an operator's log shows which consumer workspaces one process serves.
type fleet struct {
	log     logr.Logger
	mu      sync.Mutex
	engaged map[multicluster.ClusterName]cluster.Cluster
}

func (f *fleet) Start(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

func (f *fleet) Engage(ctx context.Context, name multicluster.ClusterName, cl cluster.Cluster) error {
	f.mu.Lock()
	f.engaged[name] = cl
	n := len(f.engaged)
	f.mu.Unlock()
	f.log.Info("Engaged workspace", "cluster", name, "engaged", n)
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		delete(f.engaged, name)
		n := len(f.engaged)
		f.mu.Unlock()
		f.log.Info("Disengaged workspace", "cluster", name, "engaged", n)
	}()
	return nil
}

// readers returns a cached reader for every engaged workspace.
func (f *fleet) readers(context.Context) map[string]client.Reader {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]client.Reader, len(f.engaged))
	for name, cl := range f.engaged {
		out[string(name)] = cl.GetClient()
	}
	return out
}
