package sqlite

import "time"

// SetWatchTimer replaces the wake-up watcher's timer; call it before the
// first Wakeups.
func SetWatchTimer(s *Store, after func(time.Duration) <-chan time.Time) { s.after = after }
