package relay

import (
	"strings"
	"sync"
)

// eventOrder holds a switch's events for an agent while one of its commands
// is at the switch, and queues them right after the command's outcome. A
// switch may deliver the events a command causes (Tactium sends them on its
// monitoring connection) before the command's own reply arrives; the ERP must
// still read <jose><OK>$ before the <jose><A>… of the call it dialled.
type eventOrder struct {
	mu   sync.Mutex
	busy map[string][]Frame // logins (lower case) with a command at the switch
}

func orderKey(login string) string { return strings.ToLower(login) }

// begin marks the agent as having a command at the switch.
func (o *eventOrder) begin(agent string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.busy == nil {
		o.busy = map[string][]Frame{}
	}
	o.busy[orderKey(agent)] = nil
}

// end runs emit with the events held for the agent, under the lock, so no
// event of the agent can slip in before the outcome emit queues first.
func (o *eventOrder) end(agent string, emit func(held []Frame)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	k := orderKey(agent)
	held := o.busy[k]
	delete(o.busy, k)
	emit(held)
}

// event holds f when its agent has a command at the switch, or queues it
// with send at once.
func (o *eventOrder) event(f Frame, send func(Frame)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	k := orderKey(f.Login())
	if held, ok := o.busy[k]; ok {
		o.busy[k] = append(held, f)
		return
	}
	send(f)
}
