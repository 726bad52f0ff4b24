package bench

import (
	"context"
	"database/sql"
	"path/filepath"
	"time"
)

// cpuMeter reads the CPU time the bench process and, where it can, the
// database server have used so far. Throughput on a shared machine moves
// with the other work on it; CPU per command much less, so a comparison of
// two builds reads these first.
type cpuMeter struct {
	server func() (time.Duration, bool) // nil: the server's CPU is not read
}

// newCPUMeter finds the database server's processes for dialects whose
// server can say where it runs: a PostgreSQL cluster on this machine
// (data_directory is readable by superusers and pg_read_all_settings).
func newCPUMeter(ctx context.Context, dialect string, erp *sql.DB) *cpuMeter {
	m := &cpuMeter{}
	if dialect != "postgres" || erp == nil {
		return m
	}
	var dir string
	if err := erp.QueryRowContext(ctx, "SELECT setting FROM pg_settings WHERE name = 'data_directory'").Scan(&dir); err != nil || dir == "" {
		return m
	}
	pidFile := filepath.Join(dir, "postmaster.pid")
	if _, ok := clusterCPU(pidFile); ok {
		m.server = func() (time.Duration, bool) { return clusterCPU(pidFile) }
	}
	return m
}

// cpuSample is what a meter read at one moment.
type cpuSample struct {
	process  time.Duration
	server   time.Duration
	serverOK bool
}

func (m *cpuMeter) sample() cpuSample {
	s := cpuSample{process: processCPU()}
	if m.server != nil {
		s.server, s.serverOK = m.server()
	}
	return s
}

// perCommand is the CPU of each side between two samples, in microseconds a
// command (0 when not read).
func perCommand(before, after cpuSample, commands int64) (process, server float64) {
	if commands <= 0 {
		return 0, 0
	}
	process = float64((after.process - before.process).Microseconds()) / float64(commands)
	if before.serverOK && after.serverOK {
		server = float64((after.server - before.server).Microseconds()) / float64(commands)
	}
	return process, server
}
