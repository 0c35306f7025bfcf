// Command gen-schemas regenerates config/kcp from the cert-manager module pinned in go.mod.
// Run it through `go tool task generate` from the repository root.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/platform-mesh/cert-manager-msp/internal/exportgen"
)

func main() {
	out := flag.String("out", "config/kcp", "directory to write the APIResourceSchemas and the APIExport to")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen-schemas:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	dir, version, err := exportgen.ModuleDir()
	if err != nil {
		return err
	}
	files, err := exportgen.Generate(filepath.Join(dir, "deploy", "crds"), version)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(out, f.Name), f.Content, 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", filepath.Join(out, f.Name))
	}
	return nil
}
