package spool

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

type counters struct {
	taken, dead, purged, ignored  atomic.Int64
	answers, frames               atomic.Int64
	renameRetries, renameFailures atomic.Int64
}

// Stats are the bridge's counters since it started, for status and
// metrics.
type Stats struct {
	Serving        bool        // this relay holds the spool
	FilesTaken     int64       // request files enqueued
	FilesRefused   int64       // files and frames dead-lettered as bad input
	FilesPurged    int64       // leftovers dead-lettered at start
	FilesIgnored   int64       // names that are not <user code>.CTI (logged once)
	AnswersWritten int64       // Rx files renamed into place
	FramesWritten  int64       // frames in them
	RenameRetries  int64       // failed renames (each retried)
	RenameFailures int64       // times rename_attempts ran out (the answers are kept)
	Users          []UserStats // users with answers waiting
}

// UserStats is one user with answers not yet written.
type UserStats struct {
	User      string
	Login     string
	Waiting   int           // frames waiting
	Oldest    time.Duration // age of the oldest
	LastError string        // of the last failed rename
	Stuck     bool          // rename_attempts ran out and no rename worked since
}

// Stats reads the counters.
func (b *Bridge) Stats() Stats {
	s := Stats{
		FilesTaken: b.stats.taken.Load(), FilesRefused: b.stats.dead.Load(), FilesPurged: b.stats.purged.Load(),
		FilesIgnored: b.stats.ignored.Load(), AnswersWritten: b.stats.answers.Load(), FramesWritten: b.stats.frames.Load(),
		RenameRetries: b.stats.renameRetries.Load(), RenameFailures: b.stats.renameFailures.Load(),
	}
	now := b.cfg.Clock.Now()
	b.mu.Lock()
	s.Serving = b.serving
	for _, u := range b.users {
		if len(u.pending) > 0 {
			s.Users = append(s.Users, UserStats{User: u.name, Login: u.login, Waiting: len(u.pending),
				Oldest: now.Sub(u.pending[0].at), LastError: u.lastErr, Stuck: !u.stuckAt.IsZero() && !u.wroteAt.After(u.stuckAt)})
		}
	}
	b.mu.Unlock()
	slices.SortFunc(s.Users, func(a, b UserStats) int { return strings.Compare(a.User, b.User) })
	return s
}
