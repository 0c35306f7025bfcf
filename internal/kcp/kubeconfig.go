package kcp

import (
	"fmt"

	"github.com/kcp-dev/logicalcluster/v3"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// WriteKubeconfig writes a kubeconfig with one context, "workspace", whose server is the
// workspace at path and whose credentials are those of src's current context.
func WriteKubeconfig(src string, path logicalcluster.Path, out string) error {
	raw, err := clientcmd.LoadFromFile(src)
	if err != nil {
		return err
	}
	ctx, ok := raw.Contexts[raw.CurrentContext]
	if !ok {
		return fmt.Errorf("%s has no current context", src)
	}
	cluster, ok := raw.Clusters[ctx.Cluster]
	if !ok {
		return fmt.Errorf("%s: context %q names no known cluster", src, raw.CurrentContext)
	}
	server := ForPath(&rest.Config{Host: cluster.Server}, path).Host
	wsCluster := cluster.DeepCopy()
	wsCluster.Server = server
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["workspace"] = wsCluster
	cfg.AuthInfos["workspace"] = raw.AuthInfos[ctx.AuthInfo]
	cfg.Contexts["workspace"] = &clientcmdapi.Context{Cluster: "workspace", AuthInfo: "workspace"}
	cfg.CurrentContext = "workspace"
	// Certificate paths in src stay valid: clientcmd resolved them to absolute paths.
	return clientcmd.WriteToFile(*cfg, out)
}
