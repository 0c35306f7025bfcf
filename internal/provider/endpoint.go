package provider

import (
	"context"
	"fmt"

	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// VirtualWorkspaceURL is the URL of the export's virtual workspace, from the endpoint
// slice in the provider workspace that c reads. The operator's provider finds it the same
// way; tools that reach a workspace as the operator does (the benchmark, the tests) use
// this. kcp fills the slice a moment after the export exists, so callers may retry.
func VirtualWorkspaceURL(ctx context.Context, c client.Reader) (string, error) {
	slice := &apisv1alpha1.APIExportEndpointSlice{}
	if err := c.Get(ctx, client.ObjectKey{Name: EndpointSliceName}, slice); err != nil {
		return "", err
	}
	if len(slice.Status.APIExportEndpoints) == 0 {
		return "", fmt.Errorf("endpoint slice %s lists no URL yet", EndpointSliceName)
	}
	return slice.Status.APIExportEndpoints[0].URL, nil
}
