package sqlite

import "time"

// SetWatchTimer replaces the wake-up watcher's timer; call it before the
// first Wakeups.
func SetWatchTimer(s *Store, after func(time.Duration) <-chan time.Time) { s.after = after }

// WithoutFileEvents makes the watcher look on its timer only (no inotify);
// call it before the first Wakeups.
func WithoutFileEvents(s *Store) { s.noFiles = true }

// LookSchedule is the watcher's schedule with file events: poke, then the
// waits before each look.
type LookSchedule = lookSchedule

func NewLookSchedule() *LookSchedule        { l := newLookSchedule(); return &l }
func (l *lookSchedule) Poke()               { l.poke() }
func (l *lookSchedule) Next() time.Duration { return l.next() }

// Small reply chunks, so the suite's Command cases read the journal after
// a command's row in several chunks, as a large journal does.
func init() { replyChunk = 16 }
