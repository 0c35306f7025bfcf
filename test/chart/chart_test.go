// Package chart tests the Helm chart in charts/cert-manager-msp with Helm's own Go
// packages: lint, golden `helm template` output, and the promises the chart makes (a
// non-root, read-only operator with probes, resources and leader election).
package chart

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	kubefake "helm.sh/helm/v4/pkg/kube/fake"
	"helm.sh/helm/v4/pkg/release"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const chartDir = "../../charts/cert-manager-msp"

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// render is `helm template cert-manager-msp charts/cert-manager-msp -n cert-manager-msp`.
func render(t *testing.T, vals map[string]any) (string, error) {
	t.Helper()
	chrt, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := action.NewConfiguration()
	cfg.Releases = storage.Init(driver.NewMemory())
	cfg.KubeClient = &kubefake.PrintingKubeClient{Out: io.Discard}
	cfg.Capabilities = common.DefaultCapabilities
	install := action.NewInstall(cfg)
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = "cert-manager-msp"
	install.Namespace = "cert-manager-msp"
	install.Replace = true
	rel, err := install.Run(chrt, vals)
	if err != nil {
		return "", err
	}
	acc, err := release.NewAccessor(rel)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(acc.Manifest()) + "\n", nil
}

func mustRender(t *testing.T, vals map[string]any) string {
	t.Helper()
	out, err := render(t, vals)
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	return out
}

func TestLint(t *testing.T) {
	for name, vals := range cases {
		lint := action.NewLint()
		lint.Strict = true
		lint.Namespace = "cert-manager-msp"
		res := lint.Run([]string{chartDir}, vals)
		for _, m := range res.Messages {
			t.Errorf("%s: %s", name, m)
		}
		for _, err := range res.Errors {
			t.Errorf("%s: %v", name, err)
		}
	}
}

var cases = map[string]map[string]any{
	"default": nil,
	"monitored-single-replica": {
		"replicaCount":   1,
		"leaderElection": map[string]any{"enabled": false},
		"metrics":        map[string]any{"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "prometheus"}}},
		"kubeconfig":     map[string]any{"secretName": "my-kubeconfig", "secretKey": "config"},
		"extraArgs":      []any{"--zap-encoder=console"},
		"hostAliases":    []any{map[string]any{"ip": "10.96.188.4", "hostnames": []any{"kcp.localhost"}}},
	},
}

// TestGolden compares `helm template` with testdata/<case>.yaml; -update rewrites them.
func TestGolden(t *testing.T) {
	for name, vals := range cases {
		got := mustRender(t, vals)
		golden := filepath.Join("testdata", name+".yaml")
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s: helm template differs from %s; run `go test ./test/chart -update` and review the diff", name, golden)
		}
	}
}

// objects splits a rendered manifest into kind -> raw objects.
func objects(t *testing.T, manifest string) map[string][][]byte {
	t.Helper()
	out := map[string][][]byte{}
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(manifest, -1) {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("rendered YAML does not parse: %v\n%s", err, doc)
		}
		if meta.Kind != "" {
			out[meta.Kind] = append(out[meta.Kind], []byte(doc))
		}
	}
	return out
}

func deployment(t *testing.T, manifest string) *appsv1.Deployment {
	t.Helper()
	docs := objects(t, manifest)["Deployment"]
	if len(docs) != 1 {
		t.Fatalf("want one Deployment, got %d", len(docs))
	}
	d := &appsv1.Deployment{}
	if err := yaml.UnmarshalStrict(docs[0], d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDefaultDeploymentIsHardenedAndElectsALeader(t *testing.T) {
	manifest := mustRender(t, nil)
	d := deployment(t, manifest)
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	if *d.Spec.Replicas != 2 || !slices.Contains(c.Args, "--leader-elect=true") {
		t.Errorf("want 2 replicas with leader election, got %d replicas, args %v", *d.Spec.Replicas, c.Args)
	}
	if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("pod does not run as non-root: %+v", pod.SecurityContext)
	}
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("container is not read-only without privilege escalation: %+v", c.SecurityContext)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources not set: %+v", c.Resources)
	}
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
		return e.Name == "MEMORY_LIMIT" && e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil &&
			e.ValueFrom.ResourceFieldRef.Resource == "limits.memory"
	}) || !slices.Contains(c.Args, "--memory-limit=$(MEMORY_LIMIT)") {
		t.Errorf("--memory-limit does not follow the container's memory limit: env %+v, args %v", c.Env, c.Args)
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("probes: liveness %+v readiness %+v", c.LivenessProbe, c.ReadinessProbe)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the Pod mounts a ServiceAccount token it never uses")
	}
	checkKubeconfigMount(t, pod, c, "cert-manager-provider-kubeconfig", "kubeconfig")
	for _, kind := range []string{"Service", "PodDisruptionBudget", "ServiceAccount"} {
		if len(objects(t, manifest)[kind]) != 1 {
			t.Errorf("want one %s", kind)
		}
	}
	if len(objects(t, manifest)["ServiceMonitor"]) != 0 {
		t.Error("ServiceMonitor is opt-in")
	}
}

// checkKubeconfigMount: --kubeconfig names the file the Secret's key is mounted as.
func checkKubeconfigMount(t *testing.T, pod corev1.PodSpec, c corev1.Container, secret, key string) {
	t.Helper()
	var vol *corev1.Volume
	for i := range pod.Volumes {
		if pod.Volumes[i].Secret != nil && pod.Volumes[i].Secret.SecretName == secret {
			vol = &pod.Volumes[i]
		}
	}
	if vol == nil || len(vol.Secret.Items) != 1 || vol.Secret.Items[0].Key != key {
		t.Fatalf("no volume of Secret %s with key %s: %+v", secret, key, pod.Volumes)
	}
	for _, m := range c.VolumeMounts {
		if m.Name == vol.Name {
			want := "--kubeconfig=" + filepath.Join(m.MountPath, vol.Secret.Items[0].Path)
			if !slices.Contains(c.Args, want) || !m.ReadOnly {
				t.Errorf("args %v lack %s, or the mount is writable", c.Args, want)
			}
			return
		}
	}
	t.Errorf("volume %s is not mounted", vol.Name)
}

func TestOtherKubeconfigSecretIsMounted(t *testing.T) {
	d := deployment(t, mustRender(t, cases["monitored-single-replica"]))
	checkKubeconfigMount(t, d.Spec.Template.Spec, d.Spec.Template.Spec.Containers[0], "my-kubeconfig", "config")
}

// TestEveryArgIsAnOperatorFlag: the chart passes only flags the operator has. The
// operator reference lists every flag the code defines (cmd/cert-manager-msp tests that).
func TestEveryArgIsAnOperatorFlag(t *testing.T) {
	ref, err := os.ReadFile("../../docs/reference/operator.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, vals := range cases {
		for _, arg := range deployment(t, mustRender(t, vals)).Spec.Template.Spec.Containers[0].Args {
			flagName, _, _ := strings.Cut(arg, "=")
			if !bytes.Contains(ref, []byte("`"+flagName+"`")) && !strings.HasPrefix(flagName, "--zap-") {
				t.Errorf("%s: %s is not an operator flag", name, flagName)
			}
		}
	}
}

func TestRefusesUnsafeValues(t *testing.T) {
	for name, tc := range map[string]struct {
		vals map[string]any
		want string
	}{
		"two active replicas":  {map[string]any{"leaderElection": map[string]any{"enabled": false}}, "needs leaderElection.enabled"},
		"no kubeconfig Secret": {map[string]any{"kubeconfig": map[string]any{"secretName": ""}}, "kubeconfig.secretName is required"},
		"monitor without Service": {map[string]any{"metrics": map[string]any{
			"service": map[string]any{"enabled": false}, "serviceMonitor": map[string]any{"enabled": true}}}, "needs metrics.service.enabled"},
	} {
		_, err := render(t, tc.vals)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want an error containing %q, got %v", name, tc.want, err)
		}
	}
}

// TestValuesReferenceIsComplete: docs/reference/chart-values.md names every value.
func TestValuesReferenceIsComplete(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var vals map[string]any
	if err := yaml.Unmarshal(raw, &vals); err != nil {
		t.Fatal(err)
	}
	ref, err := os.ReadFile("../../docs/reference/chart-values.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range leafKeys("", vals) {
		if !bytes.Contains(ref, []byte("`"+key+"`")) {
			t.Errorf("docs/reference/chart-values.md does not describe `%s`", key)
		}
	}
}

// leafKeys lists dotted keys down to values that are not maps, or are empty maps.
func leafKeys(prefix string, m map[string]any) []string {
	var keys []string
	for k, v := range m {
		key := strings.TrimPrefix(prefix+"."+k, ".")
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 && !freeForm[key] {
			keys = append(keys, leafKeys(key, sub)...)
			continue
		}
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}

// freeForm values are passed through whole; the reference describes them as one.
var freeForm = map[string]bool{"resources": true, "podSecurityContext": true, "securityContext": true}
