//go:build !windows

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Elsewhere than Windows the service commands say what to use instead.
func TestServiceCommandsOnlyOnWindows(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"service", "install", "--", "run"}, {"service", "stop"}, {"service", "uninstall", "--name", "x"}} {
		var out, errOut bytes.Buffer
		code := mainCode(context.Background(), &cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}, args)
		if code != 1 || !strings.Contains(errOut.String(), "docs/ctirelay.service") {
			t.Fatalf("%q: exit %d, stderr %q", args, code, errOut.String())
		}
	}
}
