package relay

import (
	"context"
	"time"
)

// LeaseHolding is what one lease owner holds in relay_inbox: the commands
// it has at the switch (state running), so `ctirelay status` can show, beside
// each relay's named locks, the commands each of its incarnations holds.
type LeaseHolding struct {
	Owner    string // NODE#INCARNATION (LeaseOwner)
	Commands int
	// Expires is the latest of its leases' expiries: past it, the commands
	// are anyone's to reclaim.
	Expires time.Time
}

// LeaseHolders reads the inbox's leases by owner.
type LeaseHolders interface {
	// LeaseHolders lists every owner holding commands, by owner.
	LeaseHolders(ctx context.Context) ([]LeaseHolding, error)
}
