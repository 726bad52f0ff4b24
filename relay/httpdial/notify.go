package httpdial

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/ctirelay/ctirelay/relay"
)

// Event is what a call notification reports.
type Event string

// The events a platform reports for a call.
const (
	EventStart   Event = "start"
	EventRinging Event = "ringing"
	EventAnswer  Event = "answer"
	EventEnd     Event = "end"
)

func (e Event) valid() bool {
	return e == EventStart || e == EventRinging || e == EventAnswer || e == EventEnd
}

// Direction says whose number is the agent's: the origin of an outgoing call
// (the document's "sainte" variables), the destination of a received one.
type Direction string

// The two directions of a call.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// Notification is one report of a call by the platform.
type Notification struct {
	Event       Event
	Direction   Direction
	Origin      string // who calls: the extension of an outgoing call
	Destination string // who is called: the extension of a received call
	Audio       string // the recording's address (nome_variavel_audio)
	CallID      string // optional: tells calls apart when reports overlap
}

// Extension is the agent's side of the call.
func (n Notification) Extension() string {
	if n.Direction == Outbound {
		return n.Origin
	}
	return n.Destination
}

// ErrBadNotification is wrapped by Vars.Parse and Notify for a report that
// lacks what it needs or carries what no frame can.
var ErrBadNotification = errors.New("bad call notification")

// ErrUnknownExtension is matched (errors.Is) by *UnknownExtensionError.
var ErrUnknownExtension = errors.New("unknown extension")

// UnknownExtensionError is Notify's answer for an extension no agent has:
// the report is not dropped silently, the caller answers it (404).
type UnknownExtensionError struct{ Extension string }

func (e *UnknownExtensionError) Error() string {
	return fmt.Sprintf("no agent has extension %q", e.Extension)
}

// Is makes errors.Is(err, ErrUnknownExtension) hold.
func (e *UnknownExtensionError) Is(target error) bool { return target == ErrUnknownExtension }

// Vars are the names of a notification's variables, as the document's
// configuracao_cti names them; the zero value takes the defaults.
type Vars struct {
	Event          string // the event: start, ringing, answer, end ("evento")
	Origin         string // nome_variavel_origem: who calls, on a received call ("origem")
	Destination    string // nome_variavel_destino: the extension called ("destino")
	OriginOut      string // nome_variavel_origem_sainte: the extension calling ("origem_sainte")
	DestinationOut string // nome_variavel_destino_sainte: the number called ("destino_sainte")
	Audio          string // nome_variavel_audio: the recording ("audio")
	CallID         string // the platform's call id, when it sends one ("id")
}

// maxValue bounds one variable's value: no number or address is longer.
const maxValue = 512

// withDefaults fills the empty names into out and checks they are distinct.
func (v Vars) withDefaults(out *Vars) error {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&v.Event, "evento")
	def(&v.Origin, "origem")
	def(&v.Destination, "destino")
	def(&v.OriginOut, "origem_sainte")
	def(&v.DestinationOut, "destino_sainte")
	def(&v.Audio, "audio")
	def(&v.CallID, "id")
	seen := map[string]bool{}
	for _, n := range []string{v.Event, v.Origin, v.Destination, v.OriginOut, v.DestinationOut, v.Audio, v.CallID} {
		if !varPattern.MatchString(n) {
			return fmt.Errorf("%q is not a variable name", n)
		}
		if seen[n] {
			return fmt.Errorf("%q names two variables: each must have its own", n)
		}
		seen[n] = true
	}
	*out = v
	return nil
}

// WithDefaults returns v with the default names filled in, or why v is not
// usable.
func (v Vars) WithDefaults() (Vars, error) {
	err := v.withDefaults(&v)
	return v, err
}

// Parse reads a notification through get (a query or form value, a JSON
// field: the caller's transport decides). The "sainte" variables make it an
// outgoing call. v must have its defaults filled in (WithDefaults).
func (v Vars) Parse(get func(name string) string) (Notification, error) {
	n := Notification{Event: Event(strings.ToLower(strings.TrimSpace(get(v.Event)))), Audio: get(v.Audio), CallID: get(v.CallID)}
	if out, dest := get(v.OriginOut), get(v.DestinationOut); out != "" || dest != "" {
		n.Direction, n.Origin, n.Destination = Outbound, out, dest
	} else {
		n.Direction, n.Origin, n.Destination = Inbound, get(v.Origin), get(v.Destination)
	}
	if err := n.check(); err != nil {
		return n, err
	}
	return n, nil
}

// Values encodes n with v's names: what a platform sends.
func (v Vars) Values(n Notification) url.Values {
	q := url.Values{}
	set := func(k, s string) {
		if s != "" {
			q.Set(k, s)
		}
	}
	set(v.Event, string(n.Event))
	if n.Direction == Outbound {
		set(v.OriginOut, n.Origin)
		set(v.DestinationOut, n.Destination)
	} else {
		set(v.Origin, n.Origin)
		set(v.Destination, n.Destination)
	}
	set(v.Audio, n.Audio)
	set(v.CallID, n.CallID)
	return q
}

func (n Notification) check() error {
	if !n.Event.valid() {
		return fmt.Errorf("%w: event %q is not start, ringing, answer or end", ErrBadNotification, n.Event)
	}
	if n.Direction != Inbound && n.Direction != Outbound {
		return fmt.Errorf("%w: direction %q is not inbound or outbound", ErrBadNotification, n.Direction)
	}
	if n.Extension() == "" {
		return fmt.Errorf("%w: no extension (the %s of an %s call)", ErrBadNotification, map[Direction]string{Inbound: "destination", Outbound: "origin"}[n.Direction], n.Direction)
	}
	for what, s := range map[string]string{"origin": n.Origin, "destination": n.Destination, "audio": n.Audio, "call id": n.CallID} {
		if len(s) > maxValue {
			return fmt.Errorf("%w: %s is over %d bytes", ErrBadNotification, what, maxValue)
		}
		if strings.ContainsAny(s, "<>") || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return fmt.Errorf("%w: %s %q has characters a frame cannot carry", ErrBadNotification, what, s)
		}
	}
	return nil
}

// Vars are the configured names of the notifications' variables, defaults
// filled in: what the HTTP bridge parses a report with,
// d.Vars().Parse(r.FormValue), before calling Notify.
func (d *Driver) Vars() Vars { return d.cfg.Vars }

// call is what the notifications have said of an agent's current call.
type call struct {
	id    string
	dir   Direction
	shown bool   // its R or A event has gone out
	audio string // the last recording address sent as G
}

// Notify turns the platform's report of a call into the events of the agent
// owning the extension: R for a received call (at its first report), A for
// an outgoing one once answered, G for each new recording address, EndCall
// at the end. It returns once the events are at the sink (which may apply
// back-pressure), with ErrNotOpen before Open, ErrClosed after Close and an
// *UnknownExtensionError for an extension no agent has.
func (d *Driver) Notify(ctx context.Context, n Notification) error {
	if err := n.check(); err != nil {
		return err
	}
	d.mu.Lock()
	switch {
	case d.closed:
		d.mu.Unlock()
		return ErrClosed
	case !d.opened:
		d.mu.Unlock()
		return ErrNotOpen
	}
	login, ok := d.owner[n.Extension()]
	if !ok {
		d.mu.Unlock()
		return &UnknownExtensionError{Extension: n.Extension()}
	}
	d.running.Add(1)
	d.mu.Unlock()
	defer d.running.Done()

	// Reports are tracked and delivered in one order, so EndCall never
	// overtakes the R of its own call.
	d.deliver.Lock()
	defer d.deliver.Unlock()
	if d.life.Err() != nil {
		return ErrClosed
	}
	d.mu.Lock()
	frames, sink := d.trackLocked(login, n), d.sink
	d.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(d.life, cancel)()
	for _, f := range frames {
		if d.life.Err() != nil {
			return ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		sink.Event(ctx, f)
	}
	return nil
}

// trackLocked updates login's call with n and returns the events it makes.
func (d *Driver) trackLocked(login string, n Notification) []relay.Frame {
	c := d.calls[login]
	if n.Event == EventStart || c == nil || c.dir != n.Direction || (n.CallID != "" && c.id != "" && n.CallID != c.id) {
		c = &call{id: n.CallID, dir: n.Direction}
	}
	var out []relay.Frame
	if !c.shown && n.Event != EventEnd {
		switch {
		case n.Direction == Inbound:
			out = append(out, relay.ReceptiveCall{Login: login, Origin: n.Origin, Dest: n.Destination}.Frame())
			c.shown = true
		case n.Event == EventAnswer:
			out = append(out, relay.ActiveCall{Login: login, Origin: n.Origin, Dest: n.Destination}.Frame())
			c.shown = true
		}
	}
	if n.Audio != "" && n.Audio != c.audio {
		out = append(out, relay.Recording(login, n.Audio))
		c.audio = n.Audio
	}
	if n.Event == EventEnd {
		delete(d.calls, login)
		return append(out, relay.EndCall(login))
	}
	d.calls[login] = c
	return out
}
