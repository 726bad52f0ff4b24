package store

import (
	"fmt"
	"strings"

	"github.com/ctirelay/ctirelay/relay"
)

// ToOutbox reports whether an output's journal row also goes to the ERP's
// outbound table: every event, and the replies to commands from the ERP's
// inbound table.
func ToOutbox(r JournalRow) bool {
	return r.Kind == relay.KindEvent || (r.Kind == relay.KindReply && r.Origin == relay.SourceERP)
}

// RefusedOutput is the relay_dead row for an output (its journal row r) that
// the database refused to write to the ERP's outbound table: it keeps the
// frame, who it was for and the database's error, and has no verb, so it is
// never retried.
func RefusedOutput(r JournalRow, table, dbErr string) DeadRow {
	enqueued := r.At
	if r.HasLatency {
		enqueued = r.At.Add(-r.Latency)
	}
	return DeadRow{InboxID: r.InboxID, Source: relay.SourceOutput, Ref: r.Ref, Agent: r.Agent, Frame: r.Frame,
		Reason: fmt.Sprintf("%s refused the %s: %s", table, r.Kind, dbErr), EnqueuedAt: enqueued, DiedAt: r.At}
}

// ShortReply is what the ERP's outbound table is given instead of an ERR
// reply it refused (too long for a narrow DS_TTO): the same code with the
// message left out, so that the command is still answered (an ERP waits
// for one answer per row) while relay_dead and the journal keep the whole
// reply. ok is false for anything else, and for an ERR with no message.
func ShortReply(r JournalRow) (frame string, ok bool) {
	if r.Kind != relay.KindReply {
		return "", false
	}
	f, err := relay.Parse(r.Frame)
	if err != nil || f.Verb() != "ERR" || len(f) < 4 || f.Arg(1) == "" {
		return "", false
	}
	return relay.ErrReply(f.Login(), f.Arg(0), "").String(), true
}

// ShortenedReason is a refused reply's reason once ShortReply's frame was
// written to the outbound table in its place.
func ShortenedReason(reason, frame string) string {
	return reason + "; the ERP was answered " + frame + " instead"
}

// EscapeNonASCII writes every character outside printable ASCII as
// \u{XXXX}, for the record of a message whose characters the database's
// encoding cannot hold. Backslashes stay as they are (recording paths have
// them): the record is for people, not to be parsed back.
func EscapeNonASCII(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 0x20 && r < 0x7f {
			b.WriteRune(r)
			continue
		}
		fmt.Fprintf(&b, "\\u{%04X}", r)
	}
	return b.String()
}
