package httpdial

import (
	"fmt"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// reached records whether a request reached the platform (any HTTP answer
// counts: a 500 is the platform refusing, not the link failing).
func (d *Driver) reached(ok bool, cause string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.requests++
	if !ok {
		d.lastErr = cause
	}
	if d.failing == !ok {
		return
	}
	if ok {
		d.reconnects++
	}
	d.failing, d.since = !ok, time.Now()
}

// Health: the platform has no session, so Connected says the last request
// reached it (true from Open until a request fails); Reconnects counts
// requests that reached it again after one that did not.
func (d *Driver) Health() relay.DriverHealth {
	d.mu.Lock()
	defer d.mu.Unlock()
	detail := fmt.Sprintf("%d requests", d.requests)
	if d.failing {
		detail += "; the last one did not reach the platform"
	}
	return relay.DriverHealth{
		Connected: d.opened && !d.closed && !d.failing, Since: d.since,
		Reconnects: d.reconnects, LastError: d.lastErr, Detail: detail,
	}
}
