package operator

import (
	"crypto/rand"
	"encoding/hex"
	"os"

	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"

	"github.com/platform-mesh/cert-manager-msp/internal/controller"
	"github.com/platform-mesh/cert-manager-msp/internal/controller/certificaterequests"
	"github.com/platform-mesh/cert-manager-msp/internal/controller/certificates"
	"github.com/platform-mesh/cert-manager-msp/internal/controller/issuers"
	"github.com/platform-mesh/cert-manager-msp/internal/controller/onboarding"
)

// Controllers is the operator's standard set: issuers, CertificateRequests,
// Certificates, and, when onboard is set, the default issuers of every new workspace.
func Controllers(opts controller.Options, onboard bool) []Controller {
	with := func(setup func(mcmanager.Manager, controller.Options) error) Controller {
		return func(mgr mcmanager.Manager) error { return setup(mgr, opts) }
	}
	cs := []Controller{with(issuers.Setup), with(certificaterequests.Setup), with(certificates.Setup)}
	if onboard {
		cs = append(cs, with(onboarding.Setup))
	}
	return cs
}

// NewInstanceID names this process: its host name and a random suffix.
func NewInstanceID() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}
