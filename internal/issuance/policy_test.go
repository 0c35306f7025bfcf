package issuance

import (
	"maps"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestTriggerChain walks every trigger in cert-manager's order: each case breaks exactly
// one thing about a freshly issued Certificate, and the chain must name that reason.
func TestTriggerChain(t *testing.T) {
	crt := certificate()
	key := newKey(t, crt)
	fresh, cr := issue(t, crt, key, now.Add(-time.Hour), 90*24*time.Hour)

	other := certificate()
	otherKey := newKey(t, other)
	otherSecret, _ := issue(t, other, otherKey, now.Add(-time.Hour), 90*24*time.Hour)

	for _, tc := range []struct {
		name   string
		crt    func(*cmapi.Certificate)
		secret func(*corev1.Secret) *corev1.Secret
		req    func(*cmapi.CertificateRequest) *cmapi.CertificateRequest
		now    time.Time
		reason string
	}{
		{name: "up to date", reason: ""},
		{name: "1 secret missing", secret: func(*corev1.Secret) *corev1.Secret { return nil }, reason: ReasonDoesNotExist},
		{name: "2 no data", secret: func(s *corev1.Secret) *corev1.Secret { s.Data = nil; return s }, reason: ReasonMissingData},
		{name: "2 no tls.key", secret: func(s *corev1.Secret) *corev1.Secret { delete(s.Data, "tls.key"); return s }, reason: ReasonMissingData},
		{name: "2 no tls.crt", secret: func(s *corev1.Secret) *corev1.Secret { delete(s.Data, "tls.crt"); return s }, reason: ReasonMissingData},
		{name: "3 key does not match certificate", secret: func(s *corev1.Secret) *corev1.Secret {
			s.Data["tls.key"] = otherSecret.Data["tls.key"]
			return s
		}, reason: ReasonInvalidKeyPair},
		{name: "3 garbage key", secret: func(s *corev1.Secret) *corev1.Secret { s.Data["tls.key"] = []byte("x"); return s }, reason: ReasonInvalidKeyPair},
		{name: "3 garbage certificate", secret: func(s *corev1.Secret) *corev1.Secret { s.Data["tls.crt"] = []byte("x"); return s }, reason: ReasonInvalidCertificate},
		{name: "4 issuer changed", crt: func(c *cmapi.Certificate) { c.Spec.IssuerRef.Name = "other" }, reason: ReasonIncorrectIssuer},
		{name: "5 secret belongs to another certificate", secret: func(s *corev1.Secret) *corev1.Secret {
			s.Annotations[cmapi.CertificateNameKey] = "someone-else"
			return s
		}, reason: ReasonIncorrectCertificate},
		{name: "6 key algorithm changed", crt: func(c *cmapi.Certificate) {
			c.Spec.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: 2048}
		}, reason: ReasonSecretMismatch},
		{name: "7 current request has another public key", req: func(r *cmapi.CertificateRequest) *cmapi.CertificateRequest {
			o, err := NewRequest(other, otherKey, 1, "x")
			if err != nil {
				t.Fatal(err)
			}
			r.Spec.Request = o.Spec.Request
			return r
		}, reason: ReasonSecretMismatch},
		{name: "8 request does not match spec", crt: func(c *cmapi.Certificate) { c.Spec.DNSNames = []string{"new.example"} }, reason: ReasonRequestChanged},
		{name: "8 without a request: SANs do not match", crt: func(c *cmapi.Certificate) { c.Spec.DNSNames = []string{"new.example"} },
			req: func(*cmapi.CertificateRequest) *cmapi.CertificateRequest { return nil }, reason: ReasonSecretMismatch},
		{name: "9 renewal due", now: now.Add(61 * 24 * time.Hour), reason: ReasonRenewing},
		{name: "9 not yet due", now: now.Add(59 * 24 * time.Hour), reason: ""},
		{name: "9 renewBefore brings renewal forward", crt: func(c *cmapi.Certificate) {
			c.Spec.RenewBefore = &metav1.Duration{Duration: 80 * 24 * time.Hour}
		}, now: now.Add(10 * 24 * time.Hour), reason: ReasonRenewing},
		{name: "9 renewal disabled", crt: func(c *cmapi.Certificate) {
			c.Spec.Renewal = &cmapi.CertificateRenewal{Policy: cmapi.CertificateRenewalPolicyDisabled}
		}, now: now.Add(89 * 24 * time.Hour), reason: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := crt.DeepCopy()
			if tc.crt != nil {
				tc.crt(c)
			}
			s := fresh.DeepCopy()
			s.Annotations = maps.Clone(fresh.Annotations)
			if tc.secret != nil {
				s = tc.secret(s)
			}
			r := cr.DeepCopy()
			if tc.req != nil {
				r = tc.req(r)
			}
			at := now
			if !tc.now.IsZero() {
				at = tc.now
			}
			v := TriggerChain.Evaluate(Input{Certificate: c, Secret: s, CurrentRequest: r, Now: at})
			if v.Reason != tc.reason {
				t.Errorf("reason = %q (%s), want %q", v.Reason, v.Message, tc.reason)
			}
		})
	}
}

func TestReadinessChainExpired(t *testing.T) {
	crt := certificate()
	s, cr := issue(t, crt, newKey(t, crt), now.Add(-2*time.Hour), time.Hour)
	v := ReadinessChain.Evaluate(Input{Certificate: crt, Secret: s, CurrentRequest: cr, Now: now})
	if v.Reason != ReasonExpired {
		t.Errorf("reason = %q, want Expired", v.Reason)
	}
	// The trigger chain would renew it instead.
	if v := TriggerChain.Evaluate(Input{Certificate: crt, Secret: s, CurrentRequest: cr, Now: now}); v.Reason != ReasonRenewing {
		t.Errorf("trigger reason = %q, want Renewing", v.Reason)
	}
}

func TestRenewalTime(t *testing.T) {
	crt := certificate()
	for _, tc := range []struct {
		name     string
		lifetime time.Duration
		mutate   func(*cmapi.Certificate)
		want     time.Duration // after notBefore
	}{
		{"two thirds of 90d", 90 * 24 * time.Hour, nil, 60 * 24 * time.Hour},
		{"two thirds of the actual lifetime, not the requested one", 3 * time.Hour, nil, 2 * time.Hour},
		{"renewBefore", 90 * 24 * time.Hour, func(c *cmapi.Certificate) {
			c.Spec.RenewBefore = &metav1.Duration{Duration: 10 * 24 * time.Hour}
		}, 80 * 24 * time.Hour},
		{"renewBeforePercentage", 100 * time.Hour, func(c *cmapi.Certificate) {
			c.Spec.RenewBeforePercentage = ptrInt32(25)
		}, 75 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := crt.DeepCopy()
			if tc.mutate != nil {
				tc.mutate(c)
			}
			s, _ := issue(t, c, newKey(t, c), now, tc.lifetime)
			cert := decode(t, s)
			rt, err := RenewalTime(c, cert)
			if err != nil {
				t.Fatal(err)
			}
			if got := rt.Sub(cert.NotBefore); got != tc.want {
				t.Errorf("renewal %v after notBefore, want %v", got, tc.want)
			}
		})
	}
}

func ptrInt32(v int32) *int32 { return &v }

func TestBackoffRemaining(t *testing.T) {
	failedAt := func(ago time.Duration, attempts int) *cmapi.Certificate {
		return certificate(func(c *cmapi.Certificate) {
			c.Status.LastFailureTime = &metav1.Time{Time: now.Add(-ago)}
			c.Status.FailedIssuanceAttempts = &attempts
		})
	}
	crt := certificate()
	_, sameSpec := issue(t, crt, newKey(t, crt), now, time.Hour)
	for _, tc := range []struct {
		name string
		crt  *cmapi.Certificate
		req  *cmapi.CertificateRequest
		want time.Duration
	}{
		{"never failed", certificate(), nil, 0},
		{"first failure waits 1h", failedAt(10*time.Minute, 1), sameSpec, 50 * time.Minute},
		{"third failure waits 4h", failedAt(time.Hour, 3), sameSpec, 3 * time.Hour},
		{"capped at 32h", failedAt(0, 12), sameSpec, 32 * time.Hour},
		{"waited long enough", failedAt(2*time.Hour, 1), sameSpec, 0},
		{"spec changed since the failure: no wait", func() *cmapi.Certificate {
			c := failedAt(0, 1)
			c.Spec.DNSNames = []string{"changed.example"}
			return c
		}(), sameSpec, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := BackoffRemaining(tc.crt, tc.req, now); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSecretOwner(t *testing.T) {
	older := certificate(func(c *cmapi.Certificate) { c.Name = "b"; c.CreationTimestamp = metav1.NewTime(now.Add(-time.Hour)) })
	newer := certificate(func(c *cmapi.Certificate) { c.Name = "a"; c.CreationTimestamp = metav1.NewTime(now) })
	tie := certificate(func(c *cmapi.Certificate) { c.Name = "c"; c.CreationTimestamp = older.CreationTimestamp })
	annotated := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{cmapi.CertificateNameKey: "a"}}}
	stranger := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{cmapi.CertificateNameKey: "zz"}}}
	for _, tc := range []struct {
		name   string
		crts   []*cmapi.Certificate
		secret *corev1.Secret
		want   string
	}{
		{"alone", []*cmapi.Certificate{newer}, nil, "a"},
		{"oldest wins", []*cmapi.Certificate{newer, older}, nil, "b"},
		{"tie broken by name", []*cmapi.Certificate{tie, older}, nil, "b"},
		{"the Secret's certificate-name wins", []*cmapi.Certificate{newer, older}, annotated, "a"},
		{"an unknown certificate-name is ignored", []*cmapi.Certificate{newer, older}, stranger, "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SecretOwner(tc.crts, tc.secret); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
