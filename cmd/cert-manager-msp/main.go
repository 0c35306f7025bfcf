// Command cert-manager-msp is the operator: it serves cert-manager.io in every kcp
// workspace that has bound the provider's APIExport, from this one process.
package main

import (
	"flag"
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"k8s.io/utils/clock"

	"github.com/platform-mesh/cert-manager-msp/internal/controller"
	"github.com/platform-mesh/cert-manager-msp/internal/operator"
	"github.com/platform-mesh/cert-manager-msp/internal/provider"
	"github.com/platform-mesh/cert-manager-msp/internal/signer"
)

func main() {
	// --kubeconfig is controller-runtime's flag (falling back to $KUBECONFIG). Its current
	// context must point at the provider workspace, e.g. .../clusters/root:providers:cert-manager.
	var (
		opts    operator.Options
		onboard bool
	)
	ctrlOpts := controller.Options{Signers: signer.Default(), Clock: clock.RealClock{}, InstanceID: operator.NewInstanceID()}
	flag.StringVar(&opts.EndpointSliceName, "endpoint-slice", provider.EndpointSliceName,
		"name of the APIExportEndpointSlice in the provider workspace")
	flag.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":9402", `address for /metrics; "0" disables`)
	flag.StringVar(&opts.HealthAddr, "health-probe-bind-address", ":9403", `address for /healthz and /readyz; "0" disables`)
	flag.BoolVar(&opts.LeaderElection, "leader-elect", false, "elect one active replica through a Lease")
	flag.StringVar(&opts.LeaderElectionNamespace, "leader-election-namespace", "default",
		"namespace in the provider workspace that holds the leader election Lease")
	flag.StringVar(&ctrlOpts.ClusterResourceNamespace, "cluster-resource-namespace", "cert-manager",
		"namespace, in every workspace, that holds ClusterIssuer Secrets and the default CA")
	flag.BoolVar(&onboard, "onboard-default-issuers", true,
		"give every workspace that orders a SelfSigned ClusterIssuer, a root CA and a CA ClusterIssuer \"default\"")
	flag.BoolVar(&ctrlOpts.ApproveRequests, "approve-requests", true,
		"approve CertificateRequests for the built-in issuers; turn off when an external approver decides")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	opts.Controllers = operator.Controllers(ctrlOpts, onboard)
	ctrl.Log.Info("Operator instance", "instanceID", ctrlOpts.InstanceID)
	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "cert-manager-msp:", err)
		os.Exit(1)
	}
}

func run(opts operator.Options) error {
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading the kubeconfig of the provider workspace: %w", err)
	}
	mgr, err := operator.New(cfg, opts)
	if err != nil {
		return err
	}
	ctrl.Log.Info("Starting cert-manager-msp", "endpointSlice", opts.EndpointSliceName, "host", cfg.Host)
	// SetupSignalHandler cancels on SIGTERM or SIGINT; Start returns once runnables stop.
	return mgr.Start(ctrl.SetupSignalHandler())
}
