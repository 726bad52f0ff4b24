//go:build !linux

package bench

// residentBytes is not measured on this system.
func residentBytes() (int64, bool) { return 0, false }

// loadAverage is not read on this system.
func loadAverage() string { return "" }
