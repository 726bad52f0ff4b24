//go:build !windows

package main

import (
	"context"
	"errors"
)

var errNotWindows = errors.New("Windows services exist only on Windows: on Linux use the systemd unit docs/ctirelay.service")

func installService(*cli, string, []string) error                     { return errNotWindows }
func controlService(*cli, string, string) error                       { return errNotWindows }
func underServiceManager(*cli, func(context.Context) int) (int, bool) { return 0, false }
