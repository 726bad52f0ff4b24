package relay

// A command from a transport that waits for its reply (a socket connection,
// later a file or HTTP request with wait) has a requester. When that
// requester is gone before the command reached the switch (its connection
// closed, its relay stopped), no one will read the reply: a non-idempotent
// command is then never carried out later (a dial nobody listens to is a
// customer called for nothing). The feed marks such a command abandoned in
// the store (Sources.Abandon), which turns it into a queued refused message
// (RefusedVerb with CodeRequesterGone): when it reaches the head of its
// agent's queue the engine dead-letters it with reason "requester-gone" and
// journals its ERR, as for any refused message, without the switch. A
// command already at the switch runs to its end (its reply stays in the
// journal); idempotent ones may run.

// CodeRequesterGone answers, in the journal, a command not carried out
// because the one who sent it left before it ran.
const CodeRequesterGone = "REQUESTER_GONE"

// ReasonRequesterGone starts the relay_dead reason of such a command.
const ReasonRequesterGone = "requester-gone"

// RequesterGone is the refusal a store records for an abandoned command;
// why says how the requester went ("connection closed", "relay stopped").
func RequesterGone(why string) *ProtocolError {
	return &ProtocolError{Code: CodeRequesterGone, Message: why + " before the command ran; not sent, so no one is called for nothing"}
}

// Abandonable reports whether a command whose requester is gone must not
// run: a non-idempotent one. A frame that is not a command (refused at
// admission already) has nothing to abandon.
func Abandonable(raw string) bool {
	f, err := Parse(raw)
	if err != nil {
		return false
	}
	cmd, err := ParseCommand(f)
	return err == nil && !cmd.Verb.Idempotent()
}

// DeadVerb is the verb relay_dead records for job j dead-lettered: none for
// a message refused at admission (it can never be retried), the command's
// own for one its requester abandoned (a whole command, which an operator
// may send again with `dead retry`), j.Verb otherwise.
func DeadVerb(j Job) Verb {
	p := j.Refusal()
	if p == nil {
		return j.Verb
	}
	if p.Code == CodeRequesterGone {
		if f, err := Parse(j.Frame); err == nil {
			if cmd, err := ParseCommand(f); err == nil {
				return cmd.Verb
			}
		}
	}
	return ""
}
