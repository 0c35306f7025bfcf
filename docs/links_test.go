// Package docs holds the documentation; its test checks that relative links resolve.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	link = regexp.MustCompile(`\]\(([^)#\s]+)(#[^)\s]*)?\)`)
	// repoPath is a path of this repository named in backticks, such as `charts/cert-manager-msp`.
	goIdent  = regexp.MustCompile(`\.[A-Z]\w*$`)
	repoPath = regexp.MustCompile("`((?:charts|cmd|config|deploy|docs|hack|internal|test)/[^`\\s]*)`")
)

// TestRelativeLinksResolve: every relative link in the docs and the README, and every
// repository path they name in backticks, is a file or directory that exists.
func TestRelativeLinksResolve(t *testing.T) {
	pages := []string{"../README.md"}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".md") {
			pages = append(pages, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range pages {
		raw, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(raw), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(page), target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", page, target)
			}
		}
		for _, m := range repoPath.FindAllStringSubmatch(string(raw), -1) {
			if strings.ContainsAny(m[1], "<*") {
				continue // a pattern, not a file
			}
			// A Go identifier after the package path: internal/signer.Signer.
			p := goIdent.ReplaceAllString(m[1], "")
			if _, err := os.Stat(filepath.Join("..", p)); err != nil {
				t.Errorf("%s names %s, which does not exist", page, m[1])
			}
		}
	}
}
