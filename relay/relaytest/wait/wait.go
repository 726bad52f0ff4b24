// Package wait is the one way tests wait for another goroutine (or process)
// to get somewhere: poll a condition until it holds, with a deadline generous
// enough that only a broken program reaches it. It is for "eventually"
// checks, never for letting time pass, and it asserts no speed. It imports
// nothing of the project, so package relay's own tests can use it too.
package wait

import (
	"testing"
	"time"
)

// Safety bounds how long For waits: long enough for a loaded CI machine,
// so reaching it means the condition would never hold.
const Safety = 10 * time.Second

// For polls cond until it holds, failing the test after Safety.
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	Within(t, Safety, what, cond)
}

// Within polls cond until it holds, failing the test after timeout (for a
// separate process that may have to restart first). The polls start 1 ms
// apart and back off to 20 ms, so a condition that runs SQL does not load
// the machine.
func Within(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(pause) // yield to the goroutine being waited for
		pause = min(2*pause, 20*time.Millisecond)
	}
}
