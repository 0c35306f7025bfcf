// Package provider holds what defines this provider in kcp: its names, the content of
// its provider workspace, and the idempotent bootstrap that puts that content there.
package provider

import "github.com/cert-manager/cert-manager/pkg/apis/certmanager"

const (
	// Group is the API group the provider serves: cert-manager's own.
	Group = certmanager.GroupName
	// ExportName is the APIExport's name. Platform Mesh joins the marketplace entry
	// (ProviderMetadata) and the portal content (ContentConfiguration) on it.
	ExportName = "cert-manager.io"
	// EndpointSliceName is the APIExportEndpointSlice the operator watches. kcp creates
	// one with the export's name.
	EndpointSliceName = ExportName
	// WorkspacePath is the provider workspace, as in Platform Mesh.
	WorkspacePath = "root:providers:cert-manager"
	// ContentForLabel ties Platform Mesh UI objects to the export.
	ContentForLabel = "ui.platform-mesh.io/content-for"
)
