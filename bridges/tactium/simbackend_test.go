package tactium

import (
	"context"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/sim"
)

func TestSwitchBackendServesTheSimulator(t *testing.T) {
	t.Parallel()
	clock := relaytest.NewClock(time.Date(2026, 1, 16, 16, 38, 37, 0, time.UTC))
	sw, err := sim.New(sim.Config{Seed: 1, Clock: clock, TalkTime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer sw.Stop()
	srv := startServer(t, &Server{Backend: SwitchBackend{Switch: sw}})
	stop := MirrorEvents(sw, srv, 16)
	defer stop()
	defer stop() // twice is fine

	admin := dial(t, srv)
	admin.roundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$")
	jose := dial(t, srv)
	jose.roundTrip("<jose><L><ON>$", "<jose><OK>$")
	jose.roundTrip("<jose><S>$", "<jose><S><1>$")
	jose.roundTrip("<jose><P><ON>$", "<jose><ERR><BAD_ARGS><P: expected <ON)<code) or <OFF)>$")
	jose.roundTrip("<jose><A><85><40050500><>$", "<jose><OK>$")
	events := `<jose><A><><><7001><85><40050500><><><>$` +
		`<jose><G><c:\records\2026\1\16\7001-20260116-163837-P1C01-Station.wav>$`
	admin.expect(events)
	jose.expect(events)
	clock.Advance(time.Minute)
	admin.expect("<jose><EndCall>$")
	jose.expect("<jose><EndCall>$")
	jose.roundTrip("<jose><S>$", "<jose><S><4>$")
	jose.roundTrip("<jose><D>$", "<jose><ERR><INVALID_STATE><no current call>$")
}
