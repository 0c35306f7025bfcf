// Command cert-manager-msp is the operator: it serves cert-manager.io in every kcp
// workspace that has bound the provider's APIExport, from this one process.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/platform-mesh/cert-manager-msp/internal/operator"
)

func main() {
	// --kubeconfig is controller-runtime's flag (falling back to $KUBECONFIG). Its current
	// context must point at the provider workspace, e.g. .../clusters/root:providers:cert-manager.
	c := bindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&c.zap)))
	if limit, ok := softMemoryLimit(c.memoryLimit, os.Getenv("GOMEMLIMIT")); ok {
		// Without it the heap grows to twice what is live before a collection, which at
		// 10,000 Certificates comes close to the chart's default limit.
		debug.SetMemoryLimit(limit)
		ctrl.Log.Info("Go memory limit set", "bytes", limit, "containerLimit", c.memoryLimit)
	}

	c.operator.QPS = float32(c.qps)
	c.operator.Controllers = operator.Controllers(c.ctrl, c.onboard)
	ctrl.Log.Info("Operator instance", "instanceID", c.ctrl.InstanceID)
	if err := run(c.operator); err != nil {
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
