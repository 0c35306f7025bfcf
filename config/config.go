// Package config embeds the kcp objects that make up the provider, so the bootstrap
// command carries them and needs no checkout of this repository.
//
//   - kcp/: the APIResourceSchemas and the APIExport, generated from cert-manager's CRDs.
//   - provider/: the rest of the provider workspace's content (RBAC, Platform Mesh objects).
//   - samples/: example Certificates for consumer workspaces.
package config

import "embed"

// ProviderFS holds what bootstrap applies to the provider workspace, in kcp/ then provider/.
//
//go:embed kcp/*.yaml provider/*.yaml
var ProviderFS embed.FS

// SamplesFS holds the example objects for consumer workspaces.
//
//go:embed samples/*.yaml
var SamplesFS embed.FS
