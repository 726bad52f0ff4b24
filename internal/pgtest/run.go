package pgtest

import (
	"testing"

	"go.uber.org/goleak"
)

// Run is Main without the exit, for a TestMain that has its own cleanup to do
// after the clusters are gone.
func Run(m *testing.M, opts ...goleak.Option) int { return run(m, opts...) }
