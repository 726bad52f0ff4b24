package sqlite

import "time"

// SetWatchTimer replaces the wake-up watcher's timer; call it before the
// first Wakeups.
func SetWatchTimer(s *Store, after func(time.Duration) <-chan time.Time) { s.after = after }

// Small reply chunks, so the suite's Command cases read the journal after
// a command's row in several chunks, as a large journal does.
func init() { replyChunk = 16 }
