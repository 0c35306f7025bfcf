// Package config embeds the kcp objects that make up the provider, so the bootstrap
// command carries them and needs no checkout of this repository.
//
//   - kcp/: the APIResourceSchemas and the APIExport, generated from cert-manager's CRDs.
//   - provider/: the rest of the provider workspace's content (bind RBAC).
//   - platform-mesh/: the marketplace entry and portal views (ui.platform-mesh.io);
//     platform-mesh/orgs/ holds what belongs in root:orgs (OrgsFS).
//   - standin/: CRDs that stand in for Platform Mesh's ui.platform-mesh.io on a bare kcp.
//   - samples/: example Certificates for consumer workspaces.
package config

import "embed"

// ProviderFS holds what bootstrap applies to the provider workspace: kcp/, provider/,
// platform-mesh/, and the stand-ins in standin/ when asked to.
//
//go:embed kcp/*.yaml provider/*.yaml platform-mesh/*.yaml standin/*.yaml
var ProviderFS embed.FS

// OrgsFS holds what Platform Mesh needs in root:orgs: the APIExportPolicy.
//
//go:embed platform-mesh/orgs/*.yaml
var OrgsFS embed.FS

// SamplesFS holds the example objects for consumer workspaces.
//
//go:embed samples/*.yaml
var SamplesFS embed.FS
