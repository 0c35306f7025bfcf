//go:build tools

// Package tools pins kcp's kubectl plugins so that `go mod tidy` keeps their dependencies.
package tools

import (
	_ "github.com/kcp-dev/cli/cmd/kubectl-create-workspace"
	_ "github.com/kcp-dev/cli/cmd/kubectl-kcp"
	_ "github.com/kcp-dev/cli/cmd/kubectl-ws"
)
