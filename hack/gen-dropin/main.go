// Command gen-dropin writes the generated part of the Platform Mesh local-setup drop-in
// (deploy/platform-mesh/local-setup) from config/. Run it through `go tool task generate`
// from the repository root.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/platform-mesh/cert-manager-msp/internal/platformmesh"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen-dropin:", err)
		os.Exit(1)
	}
}

func run() error {
	files, err := platformmesh.DropIn()
	if err != nil {
		return err
	}
	// Start from an empty provider directory, so a file removed from config/ goes too.
	if err := os.RemoveAll(filepath.Join(platformmesh.DropInDir, platformmesh.ProviderDir)); err != nil {
		return err
	}
	for _, f := range files {
		out := filepath.Join(platformmesh.DropInDir, f.Name)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(out, f.Content, 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", out)
	}
	return nil
}
