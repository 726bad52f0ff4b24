package main

import (
	"context"
	"testing"
)

// The bench itself is tested in internal/bench; here, that the command
// turns bad flags into a usage error.
func TestBenchRejectsBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--sweep", "10,x"},
		{"--sweep", "100", "--rate", "10"},
		{"--sweep", "100,200", "-n", "50"},
		{"-n", "0"},
		{"--agents", "0"},
		{"--rate", "-1"},
		{"--batch", "0"},
		{"--max-inbox", "-2"},
		{"extra"},
	} {
		env, _, errs := simEnv()
		if err := runCommand(context.Background(), env, append([]string{"bench"}, args...)); err != exitError(2) {
			t.Errorf("bench %v = %v, want a usage error (stderr %s)", args, err, errs)
		}
	}
}
