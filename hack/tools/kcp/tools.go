//go:build tools

// Package tools pins the kcp server binary so that `go mod tidy` keeps its dependencies.
package tools

import _ "github.com/kcp-dev/kcp/cmd/kcp"
