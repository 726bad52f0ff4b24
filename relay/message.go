package relay

import "strconv"

// Agent states as the Tactium S reply reports them.
type AgentState int

const (
	StateLoggedOff AgentState = 0
	StateAvailable AgentState = 1
	StatePaused    AgentState = 2
	StateBusy      AgentState = 3
	StateWrapUp    AgentState = 4
)

func (s AgentState) String() string {
	switch s {
	case StateLoggedOff:
		return "logged-off"
	case StateAvailable:
		return "available"
	case StatePaused:
		return "paused"
	case StateBusy:
		return "busy"
	case StateWrapUp:
		return "wrap-up"
	}
	return "state-" + strconv.Itoa(int(s))
}

// OK is the success reply: <login><OK>$.
func OK(login string) Frame { return Frame{login, "OK"} }

// StatusReply answers S: <login><S><code>$.
func StatusReply(login string, s AgentState) Frame {
	return Frame{login, "S", strconv.Itoa(int(s))}
}

// ErrReply is the failure reply: <login><ERR><code><message>$.
func ErrReply(login, code, message string) Frame { return Frame{login, "ERR", code, message} }

// EndCall is the event (and the reply to D) that ends the current call.
func EndCall(login string) Frame { return Frame{login, "EndCall"} }

// Recording is the G event carrying the address of a call's recording.
func Recording(login, address string) Frame { return Frame{login, "G", address} }

// ActiveCall is the A event (Tactium 5.1): an outbound call reached the agent.
type ActiveCall struct {
	Login         string
	ID            string // dialer item id
	OriginDDD     string // unused by Tactium, kept for layout
	Origin        string // extension or routing point
	DestDDD       string
	Dest          string
	Description   string
	RecordingLink string
	ExternalID    string // dialer attach info (Socket.SendAttachInfo)
}

// Frame encodes the event: <login><A><id><ddd><origin><ddd><dest><desc><link><ext>$.
func (c ActiveCall) Frame() Frame {
	return Frame{c.Login, "A", c.ID, c.OriginDDD, c.Origin, c.DestDDD, c.Dest, c.Description, c.RecordingLink, c.ExternalID}
}

// ParseActiveCall reads an A event; missing trailing fields are empty. The
// document's dialer example has seven fields (a stray '>' stands where the
// recording link would be); then the last one is the attach info.
func ParseActiveCall(f Frame) ActiveCall {
	c := ActiveCall{Login: f.Login(), ID: f.Arg(0), OriginDDD: f.Arg(1), Origin: f.Arg(2), DestDDD: f.Arg(3), Dest: f.Arg(4), Description: f.Arg(5), RecordingLink: f.Arg(6), ExternalID: f.Arg(7)}
	if len(f.Args()) == 7 {
		c.RecordingLink, c.ExternalID = "", f.Arg(6)
	}
	return c
}

// ReceptiveCall is the R event (Tactium 5.2): an inbound call reached the agent.
// Its layout is <login><R><id><ddd origin><origin><ddd dest><dest><---><ext id>$;
// the document leaves the sixth field unnamed, so it is carried as Reserved.
type ReceptiveCall struct {
	Login      string
	ID         string
	OriginDDD  string
	Origin     string // caller number
	DestDDD    string
	Dest       string // extension or routing point the call arrived on
	Reserved   string
	ExternalID string
}

// Frame encodes the event.
func (c ReceptiveCall) Frame() Frame {
	return Frame{c.Login, "R", c.ID, c.OriginDDD, c.Origin, c.DestDDD, c.Dest, c.Reserved, c.ExternalID}
}

// ParseReceptiveCall reads an R event; missing trailing fields are empty.
func ParseReceptiveCall(f Frame) ReceptiveCall {
	return ReceptiveCall{Login: f.Login(), ID: f.Arg(0), OriginDDD: f.Arg(1), Origin: f.Arg(2), DestDDD: f.Arg(3), Dest: f.Arg(4), Reserved: f.Arg(5), ExternalID: f.Arg(6)}
}
