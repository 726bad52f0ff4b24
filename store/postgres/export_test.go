package postgres

// SetFastIntake turns the intake's fast path on or off (intake_fast.go).
func SetFastIntake(s *Store, on bool) { s.fastOff.Store(!on) }

// SetAfterPeek runs f between the fast path's read of T_TTI and its take.
func SetAfterPeek(s *Store, f func()) { s.afterPeek = f }

// IntakeLockKey is the advisory lock every writer of new inbox rows holds.
const IntakeLockKey = intakeLockKey

// FastFallbacks counts the fast path's intakes that left the rows to the
// locked intake.
func FastFallbacks(s *Store) int64 { return s.fallbacks.Load() }
