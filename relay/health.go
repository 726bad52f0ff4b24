package relay

import "time"

// DriverHealth is what a driver knows about its link to the switch: for
// /readyz, the metrics, `ctirelay status` and the dashboard.
type DriverHealth struct {
	// Connected: commands can reach the switch now (for a switch reached
	// per request, the last request reached it).
	Connected bool
	// Standby: this relay waits while another one holds the switch's
	// single listener or its active role; not a failure.
	Standby bool
	// Idle: no link is open yet and none has failed, for a driver that
	// opens its links on demand (EPBX: each agent's at its first command);
	// commands can be taken, not a failure.
	Idle bool
	// Since is when Connected last changed.
	Since time.Time
	// Reconnects counts links re-established after a loss since Open.
	Reconnects int64
	// LastError is the last connection failure, "" when there was none.
	LastError string
	// Detail is a short driver-specific summary ("12 command connections").
	Detail string
}

// HealthReporter is the health side of a Driver (every Driver is one), for
// consumers that need only that: readiness, metrics, the dashboard.
type HealthReporter interface {
	Health() DriverHealth
}
