package relay

import "time"

// BacklogScan bounds how far back Backlog counts the journal's outputs:
// beyond it, the oldest unread T_TTO row is reported as at least as old as
// the BacklogScan-th newest output (TTOAtLeast), so a stalled ERP with a
// million unread rows costs the same read as one with ten thousand.
const BacklogScan = 10000

// Backlog is what the ERP's tables tell of their waiting rows. The tables
// have no time columns (IS_ and DS_ only), so ages are estimated:
//
//   - T_TTI's ends, TTIFirst and TTILast, let a watcher tell when a row
//     arrived: the first time it saw TTILast reach a row's IS_TTI (the
//     dashboard keeps those sightings).
//   - T_TTO's oldest unread row is dated by the journal: outputs are
//     journaled in the order they are written to T_TTO, and the ERP takes
//     the oldest first, so with n unread rows the oldest is the n-th newest
//     output journaled (a reply to a command from the ERP, or an event,
//     that the database did not refuse).
type Backlog struct {
	// TTIFirst and TTILast are the lowest and highest IS_TTI waiting in
	// T_TTI; both 0 when it is empty.
	TTIFirst, TTILast int64
	// TTOOldest is when the oldest of the unread T_TTO rows was written,
	// as the journal tells it; zero when none is unread, or when the
	// journal holds no output at all.
	TTOOldest time.Time
	// TTOAtLeast: TTOOldest is a bound, the row is older still: the
	// journal holds fewer outputs than there are unread rows (retention
	// pruned them), or more than BacklogScan are unread.
	TTOAtLeast bool
}

// WentToTTO reports whether the journal entry e is of a row written to
// T_TTO: an event, or a reply to a command from the ERP, that the database
// did not refuse (store.ToOutbox decides the same when writing).
func WentToTTO(e JournalEntry) bool {
	return e.Direction == DirOut && e.Error == "" &&
		(e.Kind == KindEvent || e.Kind == KindReply && e.Origin == SourceERP)
}
