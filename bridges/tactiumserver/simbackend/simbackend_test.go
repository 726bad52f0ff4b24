package simbackend_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/bridges/tactiumserver"
	"github.com/ctirelay/ctirelay/bridges/tactiumserver/simbackend"
	"github.com/ctirelay/ctirelay/internal/tactiumtest"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBackendServesTheSimulator(t *testing.T) {
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
	srv := &tactiumserver.Server{Addr: "127.0.0.1:0", Backend: simbackend.Backend{Switch: sw}}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	stop := simbackend.MirrorEvents(sw, srv, 16)
	defer stop()
	defer stop() // twice is fine

	addr := srv.ListenAddr().String()
	admin := tactiumtest.Dial(t, addr)
	admin.RoundTrip("<ADMSOCKET><L><ON>$", "<ADMSOCKET><OK>$")
	jose := tactiumtest.Dial(t, addr)
	jose.RoundTrip("<jose><L><ON>$", "<jose><OK>$")
	jose.RoundTrip("<jose><S>$", "<jose><S><1>$")
	jose.RoundTrip("<jose><P><ON>$", "<jose><ERR><BAD_ARGS><P: expected <ON)<code) or <OFF)>$")
	jose.RoundTrip("<jose><A><85><40050500><>$", "<jose><OK>$")
	events := `<jose><A><><><7001><85><40050500><><><>$` +
		`<jose><G><c:\records\2026\1\16\7001-20260116-163837-P1C01-Station.wav>$`
	admin.Expect(events)
	jose.Expect(events)
	clock.Advance(time.Minute)
	admin.Expect("<jose><EndCall>$")
	jose.Expect("<jose><EndCall>$")
	jose.RoundTrip("<jose><S>$", "<jose><S><4>$")
	jose.RoundTrip("<jose><D>$", "<jose><ERR><INVALID_STATE><no current call>$")
}
