// Command mspctl administers the cert-manager MSP in any kcp:
//
//	mspctl bootstrap                      create the provider workspace and apply its content
//	mspctl order --workspace PATH         bind an account to the export, as the marketplace does
//	mspctl workspace --workspace PATH     create a workspace (and its parents) and wait until Ready
//	mspctl kubeconfig --workspace PATH    write a kubeconfig whose server is that workspace
//
// Every subcommand takes --kubeconfig (default $KUBECONFIG) with credentials for kcp; the
// path in its server URL does not matter, the workspace is chosen by flag.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/platform-mesh/cert-manager-msp/internal/kcp"
	"github.com/platform-mesh/cert-manager-msp/internal/order"
	"github.com/platform-mesh/cert-manager-msp/internal/provider"
)

var commands = map[string]func(ctx context.Context, args []string) error{
	"bootstrap":  bootstrap,
	"order":      orderCmd,
	"workspace":  workspace,
	"kubeconfig": kubeconfig,
}

func main() {
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: mspctl bootstrap|order|workspace|kubeconfig [flags] (-h for flags)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := commands[os.Args[1]](ctx, os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "mspctl %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// flags is the flag set every subcommand shares.
type flags struct {
	*flag.FlagSet
	kubeconfig string
}

func newFlags(name string) *flags {
	f := &flags{FlagSet: flag.NewFlagSet("mspctl "+name, flag.ExitOnError)}
	f.StringVar(&f.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig with credentials for kcp")
	return f
}

func (f *flags) config() (*rest.Config, error) {
	if f.kubeconfig == "" {
		return nil, fmt.Errorf("--kubeconfig (or KUBECONFIG) is required")
	}
	return clientcmd.BuildConfigFromFlags("", f.kubeconfig)
}

func logf(format string, args ...any) { fmt.Printf(format+"\n", args...) }

func bootstrap(ctx context.Context, args []string) error {
	f := newFlags("bootstrap")
	path := f.String("workspace", provider.WorkspacePath, "provider workspace path")
	wsType := f.String("workspace-type", "", `type of the provider workspace if it is created, e.g. "root:provider" on Platform Mesh`)
	existing := f.Bool("existing-workspace", false,
		"the provider workspace exists (Platform Mesh's ManagedProvider or Provider made it): do not create it, so a provider kubeconfig that cannot reach root:providers works")
	operatorUser := f.String("operator-user", "", "bind the operator's ClusterRole (cert-manager-msp:operator) to this user, the identity the operator runs as")
	standIn := f.Bool("portal-standin", false,
		"install stand-in CRDs for ui.platform-mesh.io first, so a bare kcp can hold the ProviderMetadata and ContentConfiguration; never on Platform Mesh")
	_ = f.Parse(args)
	cfg, err := f.config()
	if err != nil {
		return err
	}
	opts := provider.BootstrapOptions{Path: logicalcluster.NewPath(*path), WorkspaceType: *wsType, PortalStandIn: *standIn, ExistingWorkspace: *existing, OperatorUser: *operatorUser, Log: logf}
	if err := provider.Bootstrap(ctx, cfg, opts); err != nil {
		return err
	}
	logf("provider %s is bootstrapped in %s", provider.ExportName, *path)
	return nil
}

func orderCmd(ctx context.Context, args []string) error {
	f := newFlags("order")
	ws := f.String("workspace", "", "consumer workspace that orders, e.g. root:orgs:acme:web-team (required)")
	exportPath := f.String("export-path", provider.WorkspacePath, "workspace of the APIExport")
	exportName := f.String("export", provider.ExportName, "name of the APIExport")
	timeout := f.Duration("timeout", time.Minute, "how long to wait for the binding to become Bound")
	_ = f.Parse(args)
	if *ws == "" {
		return fmt.Errorf("--workspace is required")
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	res, err := order.Order(ctx, cfg, order.Options{
		Workspace:  logicalcluster.NewPath(*ws),
		ExportPath: logicalcluster.NewPath(*exportPath),
		ExportName: *exportName,
		Timeout:    *timeout,
	})
	if err != nil {
		return err
	}
	state := "ordered"
	if res.Existing {
		state = "already ordered"
	}
	logf("%s: APIBinding %s in %s is Bound to %s:%s", state, res.BindingName, *ws, *exportPath, *exportName)
	return nil
}

func workspace(ctx context.Context, args []string) error {
	f := newFlags("workspace")
	ws := f.String("workspace", "", "workspace to create with its parents, e.g. root:orgs:acme:web-team (required)")
	wsType := f.String("type", "", "type of the last workspace, e.g. root:account; empty for kcp's default")
	_ = f.Parse(args)
	if *ws == "" {
		return fmt.Errorf("--workspace is required")
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	if err := kcp.EnsureWorkspace(ctx, cfg, logicalcluster.NewPath(*ws), *wsType); err != nil {
		return err
	}
	logf("workspace %s is Ready", *ws)
	return nil
}

func kubeconfig(_ context.Context, args []string) error {
	f := newFlags("kubeconfig")
	ws := f.String("workspace", "", "workspace the kubeconfig points at (required)")
	out := f.String("out", "", "file to write (required)")
	_ = f.Parse(args)
	if *ws == "" || *out == "" {
		return fmt.Errorf("--workspace and --out are required")
	}
	if err := kcp.WriteKubeconfig(f.kubeconfig, logicalcluster.NewPath(*ws), *out); err != nil {
		return err
	}
	logf("wrote %s (server: workspace %s)", *out, *ws)
	return nil
}
