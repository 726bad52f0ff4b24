package oauth_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/epbx/epbxfake"
	"github.com/ctirelay/ctirelay/relay/epbx/oauth"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const password = "pa55-w0rd-secret"

func setup(t *testing.T, ttl time.Duration) (*epbxfake.Server, *httptest.Server, *relaytest.Clock, *relaytest.Buffer, func(pass string) *oauth.Source) {
	t.Helper()
	srv := epbxfake.New(epbxfake.Config{Hub: nil, Users: map[string]string{"jose": password}, ClientID: "ctirelay", TokenTTL: ttl})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	clock := relaytest.NewClock(time.Unix(0, 0))
	logs := &relaytest.Buffer{}
	return srv, hs, clock, logs, func(pass string) *oauth.Source {
		s, err := oauth.New(oauth.Config{BaseURL: hs.URL, ClientID: "ctirelay", Username: "jose", Password: pass, Clock: clock,
			Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Stop)
		return s
	}
}

func TestRefreshOnSchedule(t *testing.T) {
	t.Parallel()
	srv, _, clock, _, newSource := setup(t, 10*time.Minute)
	s := newSource(password)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	first, _ := s.Token(context.Background())
	clock.Advance(6 * time.Minute) // before 70%
	if st := srv.Stats(); st.RefreshGrants != 0 || st.PasswordGrants != 1 {
		t.Fatalf("stats %+v", st)
	}
	wait.For(t, "the refresh at 70%", func() bool {
		clock.Advance(10 * time.Second)
		return srv.Stats().RefreshGrants == 1
	})
	tok, err := s.Token(context.Background())
	if err != nil || tok == first {
		t.Errorf("token after refresh: %v, same %v", err, tok == first)
	}
	if st := srv.Stats(); st.PasswordGrants != 1 {
		t.Errorf("stats %+v: no second password grant wanted", st)
	}
}

// A refresh refused (the refresh token forgotten by a server restart)
// falls back to a password grant.
func TestRefreshFailsIntoPasswordGrant(t *testing.T) {
	t.Parallel()
	srv, _, clock, _, newSource := setup(t, 10*time.Minute)
	s := newSource(password)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.ForgetRefreshTokens()
	wait.For(t, "a second password grant", func() bool {
		clock.Advance(30 * time.Second)
		return srv.Stats().PasswordGrants == 2
	})
	if _, err := s.Token(context.Background()); err != nil {
		t.Error(err)
	}
}

// Token never fails while a renewal is under way or failing, as long as
// the token held has not expired.
func TestTokenDuringFailingRenewal(t *testing.T) {
	t.Parallel()
	srv, _, clock, _, newSource := setup(t, 10*time.Minute)
	s := newSource(password)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.ForgetRefreshTokens()
	srv.SetPassword("jose", "changed")
	for range 20 {
		clock.Advance(10 * time.Second)
		if _, err := s.Token(context.Background()); err != nil {
			t.Fatalf("Token during renewals: %v", err)
		}
	}
}

func TestSecretsStayOut(t *testing.T) {
	t.Parallel()
	srv, _, clock, logs, newSource := setup(t, time.Minute)
	good := newSource(password)
	if err := good.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	tok, _ := good.Token(context.Background())
	srv.ForgetRefreshTokens()
	srv.SetPassword("jose", "other")
	wait.For(t, "a failed renewal logged", func() bool {
		clock.Advance(5 * time.Second)
		return strings.Contains(logs.String(), "renewal failed")
	})
	bad := newSource(password + "x")
	err := bad.Start(context.Background())
	if !errors.Is(err, oauth.ErrRejected) {
		t.Fatalf("wrong password: %v, want ErrRejected", err)
	}
	for _, secret := range []string{password, tok} {
		if strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) {
			t.Errorf("secret %q in the error %q or the logs %s", secret, err, logs.String())
		}
	}
}

func TestUnreachableIsTransient(t *testing.T) {
	t.Parallel()
	_, hs, _, _, newSource := setup(t, time.Minute)
	s := newSource(password)
	hs.Close()
	_, err := s.Token(context.Background())
	if !relay.IsTransient(err) {
		t.Errorf("server down: %v, want transient", err)
	}
}

func TestStartStop(t *testing.T) {
	relaytest.StressStartStop(t, func(t *testing.T) relay.Service {
		_, _, _, _, newSource := setup(t, time.Minute)
		return newSource(password)
	})
}
