package main

import (
	"flag"
	"time"

	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/platform-mesh/cert-manager-msp/internal/controller"
	"github.com/platform-mesh/cert-manager-msp/internal/operator"
	"github.com/platform-mesh/cert-manager-msp/internal/provider"
	"github.com/platform-mesh/cert-manager-msp/internal/signer"
)

// config is everything the flags set.
type config struct {
	operator operator.Options
	ctrl     controller.Options
	onboard  bool
	qps      float64
	// memoryLimit is the container's memory limit in bytes (0: not known).
	memoryLimit int64
	zap         zap.Options
}

// bindFlags defines the operator's flags on fs. The reference docs list every one of
// them; a test keeps the two in step.
func bindFlags(fs *flag.FlagSet) *config {
	c := &config{ctrl: controller.Options{Signers: signer.Default(), Clock: clock.RealClock{}, InstanceID: operator.NewInstanceID()}}
	fs.StringVar(&c.operator.EndpointSliceName, "endpoint-slice", provider.EndpointSliceName,
		"name of the APIExportEndpointSlice in the provider workspace")
	fs.StringVar(&c.operator.MetricsAddr, "metrics-bind-address", ":9402", `address for /metrics; "0" disables`)
	fs.StringVar(&c.operator.HealthAddr, "health-probe-bind-address", ":9403", `address for /healthz and /readyz; "0" disables`)
	fs.StringVar(&c.operator.PprofAddr, "pprof-bind-address", "0", `address for Go's /debug/pprof profiles; "0" disables`)
	fs.BoolVar(&c.operator.LeaderElection, "leader-elect", false, "elect one active replica through a Lease")
	fs.StringVar(&c.operator.LeaderElectionNamespace, "leader-election-namespace", "default",
		"namespace in the provider workspace that holds the leader election Lease")
	fs.DurationVar(&c.operator.LeaseDuration, "leader-election-lease-duration", 15*time.Second,
		"how long a replica waits after the leader last renewed before it takes over")
	fs.DurationVar(&c.operator.RenewDeadline, "leader-election-renew-deadline", 10*time.Second,
		"how long the leader keeps trying to renew before it gives up leadership and exits")
	fs.DurationVar(&c.operator.RetryPeriod, "leader-election-retry-period", 2*time.Second,
		"how often replicas try to acquire or renew the Lease")
	fs.Float64Var(&c.qps, "kube-api-qps", 50, "client-go rate limit of each client the operator makes towards kcp (queries per second)")
	fs.IntVar(&c.operator.Burst, "kube-api-burst", 100, "burst above --kube-api-qps for each of those clients")
	fs.IntVar(&c.ctrl.Workers, "concurrent-workers", controller.DefaultWorkers, "reconciles that each controller runs at once, across all workspaces")
	fs.StringVar(&c.ctrl.ClusterResourceNamespace, "cluster-resource-namespace", "cert-manager",
		"namespace, in every workspace, that holds ClusterIssuer Secrets and the default CA")
	fs.BoolVar(&c.onboard, "onboard-default-issuers", true,
		"give every workspace that orders a SelfSigned ClusterIssuer, a root CA and a CA ClusterIssuer \"default\"")
	fs.BoolVar(&c.ctrl.ApproveRequests, "approve-requests", true,
		"approve CertificateRequests for the built-in issuers; turn off when an external approver decides")
	fs.Int64Var(&c.memoryLimit, "memory-limit", 0,
		"the container's memory limit in bytes; the Go runtime keeps its memory under 90% of it unless GOMEMLIMIT is set (0: no limit)")
	c.zap.BindFlags(fs)
	return c
}

// softMemoryLimit is the Go runtime's soft memory limit for a container limit, and
// whether to set one: 90% of the limit, leaving the headroom Go's GC guide suggests for
// memory the runtime does not manage. GOMEMLIMIT, when set, is the operator's own choice.
func softMemoryLimit(containerLimit int64, gomemlimit string) (int64, bool) {
	if containerLimit <= 0 || gomemlimit != "" {
		return 0, false
	}
	return containerLimit / 10 * 9, true
}
