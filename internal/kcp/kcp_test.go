package kcp

import (
	"testing"

	"github.com/kcp-dev/logicalcluster/v3"
	"k8s.io/client-go/rest"
)

func TestForPath(t *testing.T) {
	for _, tc := range []struct{ host, path, want string }{
		{"https://127.0.0.1:6443", "root:orgs:acme", "https://127.0.0.1:6443/clusters/root:orgs:acme"},
		{"https://127.0.0.1:6443/", "root", "https://127.0.0.1:6443/clusters/root"},
		// admin.kubeconfig's "root" context: the workspace part is replaced, not appended to.
		{"https://127.0.0.1:6443/clusters/root", "root:providers:cert-manager", "https://127.0.0.1:6443/clusters/root:providers:cert-manager"},
		// behind a front proxy with a path prefix
		{"https://kcp.example.com/kcp/clusters/root:orgs", "root:orgs:acme:web-team", "https://kcp.example.com/kcp/clusters/root:orgs:acme:web-team"},
	} {
		cfg := &rest.Config{Host: tc.host, BearerToken: "t"}
		got := ForPath(cfg, logicalcluster.NewPath(tc.path))
		if got.Host != tc.want {
			t.Errorf("ForPath(%q, %q) = %q, want %q", tc.host, tc.path, got.Host, tc.want)
		}
		if got.BearerToken != "t" || cfg.Host != tc.host {
			t.Errorf("ForPath must copy credentials and leave its input alone")
		}
	}
}
