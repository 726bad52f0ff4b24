//go:build !unix

package epbx_test

import "time"

// cpuTime is not read where getrusage is missing (Windows): the benchmark
// reports 0 CPU per command there.
func cpuTime() time.Duration { return 0 }
