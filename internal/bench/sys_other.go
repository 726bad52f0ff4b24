//go:build !linux

package bench

import "time"

// residentBytes is not measured on this system.
func residentBytes() (int64, bool) { return 0, false }

// loadAverage is not read on this system.
func loadAverage() string { return "" }

// processCPU is not read on this system.
func processCPU() time.Duration { return 0 }

// clusterCPU is not read on this system.
func clusterCPU(string) (time.Duration, bool) { return 0, false }
