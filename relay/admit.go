package relay

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Admission is what the relay decides about a raw inbound message before it
// enters the inbox: either a routable command, or a rejection with the reason
// to record in relay_dead and the ERR reply for the sender when a login can be
// read.
type Admission struct {
	Agent string
	Verb  Verb
	Frame string // the message as received
	Err   *ProtocolError
}

// Reply is the ERR frame for a rejected message, or nil when no login could be
// read to route it.
func (a Admission) Reply() Frame {
	if a.Err == nil || a.Agent == "" {
		return nil
	}
	return ErrReply(a.Agent, a.Err.Code, a.Err.Message)
}

// Admit validates one raw message (a T_TTI row, a spool file, a request body).
// maxBytes bounds the frame (DefaultMaxFrame when <= 0).
func Admit(raw string, maxBytes int) Admission {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxFrame
	}
	a := Admission{Frame: raw}
	if len(raw) > maxBytes {
		a.Agent = sanitizeLogin(leadingLogin(raw))
		a.Err = &ProtocolError{Code: CodeTooLarge, Message: fmt.Sprintf("frame of %d bytes is over the %d-byte limit", len(raw), maxBytes)}
		return a
	}
	if !utf8.ValidString(raw) {
		a.Agent = sanitizeLogin(leadingLogin(raw))
		a.Err = &ProtocolError{Code: CodeEncoding, Message: "frame is not valid UTF-8"}
		return a
	}
	f, err := Parse(raw)
	if err != nil {
		a.Agent = sanitizeLogin(leadingLogin(raw))
		a.Err = AsProtocolError(err)
		return a
	}
	a.Agent = sanitizeLogin(f.Login())
	if a.Agent == "" {
		a.Err = &ProtocolError{Code: CodeMalformed, Message: "the first field (agent login) is empty"}
		return a
	}
	cmd, err := ParseCommand(f)
	if err != nil {
		a.Err = AsProtocolError(err)
		return a
	}
	a.Verb = cmd.Verb
	return a
}

// AdmitInbound is Admit for a message a source offers, honouring the
// source's own Refusal (see Inbound).
func AdmitInbound(m Inbound, maxBytes int) Admission {
	if m.Refusal == nil {
		return Admit(m.Raw, maxBytes)
	}
	return Admission{Agent: sanitizeLogin(m.Agent), Frame: m.Raw, Err: m.Refusal}
}

// leadingLogin reads the first field of a message that may be broken, so the
// ERR reply can reach its sender.
func leadingLogin(raw string) string {
	s := strings.TrimLeft(raw, " \t\r\n")
	if !strings.HasPrefix(s, "<") {
		return ""
	}
	end := strings.IndexByte(s, '>')
	if end < 0 || end > 256 {
		return ""
	}
	return s[1:end]
}

// sanitizeLogin keeps a login usable as a routing key and inside a reply.
func sanitizeLogin(s string) string {
	if len(s) > 256 {
		return ""
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	return strings.TrimSpace(s)
}

// A message refused at admission whose agent still has earlier commands
// unfinished is not answered at once: its ERR would overtake their replies,
// and Tactium replies carry no request id, so an ERP pairs them with its
// commands by order. The store queues it behind them as an inbox row whose
// verb is refusedMark followed by the refusal ("CODE: message"), and the
// engine answers that ERR when the row reaches the head of its agent's queue,
// without the switch. The refusal is stored rather than decided again from
// the frame: the limit a bridge admitted with (its own max_frame_bytes) need
// not be the engine's.
const refusedMark = "!"

// RefusedVerb is the inbox verb that marks a queued refused message and
// carries its refusal (see Job.Refusal). A real verb never starts with '!'.
func RefusedVerb(p *ProtocolError) Verb {
	return Verb(refusedMark + p.Code + ": " + p.Message)
}

// IsRefused reports whether v marks a queued refused message.
func (v Verb) IsRefused() bool { return strings.HasPrefix(string(v), refusedMark) }

// Refusal is the admission error of a job that is a queued refused message
// (its verb is a RefusedVerb), or nil for a command.
func (j Job) Refusal() *ProtocolError {
	if !j.Verb.IsRefused() {
		return nil
	}
	code, msg, _ := strings.Cut(string(j.Verb)[len(refusedMark):], ": ")
	return &ProtocolError{Code: code, Message: msg}
}

// RefusedOutcome settles a queued refused message: dead, with the ERR its
// admission decided, the switch never involved. ok is false for a command.
func RefusedOutcome(j Job) (o Outcome, ok bool) {
	p := j.Refusal()
	if p == nil {
		return Outcome{}, false
	}
	reason := p.Code + ": " + p.Message
	if p.Code == CodeRequesterGone {
		reason = ReasonRequesterGone + ": " + p.Message
	}
	return Outcome{Job: j, Kind: Dead, Reason: reason,
		Replies: []Frame{ErrReply(j.Agent, p.Code, p.Message)}}, true
}
