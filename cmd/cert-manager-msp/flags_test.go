package main

import (
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/platform-mesh/cert-manager-msp/internal/metrics"
)

// TestReferenceListsEveryFlag: docs/reference/operator.md has a row for every flag the
// operator defines, with its default (controller-runtime's zap flags are covered by one
// row).
func TestReferenceListsEveryFlag(t *testing.T) {
	doc := readDoc(t, "../../docs/reference/operator.md")
	fs := flag.NewFlagSet("cert-manager-msp", flag.ContinueOnError)
	bindFlags(fs)
	fs.VisitAll(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "zap-") {
			if !strings.Contains(doc, "`--zap-log-level`") {
				t.Error("docs/reference/operator.md does not describe the --zap- flags")
			}
			return
		}
		if !strings.Contains(doc, "`--"+f.Name+"`") {
			t.Errorf("docs/reference/operator.md does not describe --%s", f.Name)
		} else if !strings.Contains(doc, "| `--"+f.Name+"` | `"+f.DefValue+"` |") {
			t.Errorf("docs/reference/operator.md does not give --%s's default %q", f.Name, f.DefValue)
		}
	})
	if !strings.Contains(doc, "`--kubeconfig`") {
		t.Error("docs/reference/operator.md does not describe --kubeconfig")
	}
}

// TestReferenceListsEveryMetric: docs/reference/metrics.md names every metric exported.
func TestReferenceListsEveryMetric(t *testing.T) {
	doc := readDoc(t, "../../docs/reference/metrics.md")
	for _, d := range metrics.All {
		name := regexp.MustCompile(`fqName: "([^"]+)"`).FindStringSubmatch(d.String())[1]
		if !regexp.MustCompile("`" + name + "`").MatchString(doc) {
			t.Errorf("docs/reference/metrics.md does not describe %s", name)
		}
	}
}

func readDoc(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestSoftMemoryLimit(t *testing.T) {
	const mi = 1 << 20
	cases := []struct {
		name       string
		limit      int64
		gomemlimit string
		want       int64
		set        bool
	}{
		{"90% of the container's limit", 512 * mi, "", 512 * mi / 10 * 9, true},
		{"no container limit: Go's default", 0, "", 0, false},
		{"GOMEMLIMIT set: left to it", 512 * mi, "300MiB", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, set := softMemoryLimit(tc.limit, tc.gomemlimit)
			if got != tc.want || set != tc.set {
				t.Errorf("got %d, %v; want %d, %v", got, set, tc.want, tc.set)
			}
		})
	}
}
