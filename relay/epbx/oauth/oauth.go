// Package oauth keeps an EPBX user's access token fresh: the password grant
// at POST {base}/oauth2/Token, then the refresh_token grant at about 70% of
// expires_in, falling back to a new password grant when a refresh fails.
// Commands never wait on a renewal: the token in hand stays valid until it
// expires, and renewal starts well before that.
//
// Secrets (password, access and refresh tokens) never appear in its errors
// or logs.
package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// ErrRejected is a grant the server refused (wrong password, unknown
// client): retrying with the same credentials will not help.
var ErrRejected = errors.New("oauth: credentials rejected")

// Config configures a Source.
type Config struct {
	BaseURL  string // the token endpoint is BaseURL + "/oauth2/Token"
	ClientID string
	Username string
	Password string
	// RefreshAt is the fraction of expires_in after which the token is
	// renewed; default 0.7.
	RefreshAt float64
	// RetryDelay is the pause after a failed renewal; default 5 s.
	RetryDelay time.Duration
	HTTPClient *http.Client
	Timeout    time.Duration // per request; default 10 s
	Clock      relay.Clock
	Logger     *slog.Logger
}

// Source holds one user's token.
type Source struct {
	cfg  Config
	life relay.StartStop

	mu      sync.Mutex
	access  string
	refresh string
	expires time.Time
	renewAt time.Time
	fetch   chan struct{} // closed when an on-demand grant finishes
	cancel  context.CancelFunc
	done    chan struct{}
}

// New builds a source; Token or Start takes the first token.
func New(cfg Config) (*Source, error) {
	if _, err := url.Parse(cfg.BaseURL); err != nil || cfg.BaseURL == "" {
		return nil, fmt.Errorf("oauth: base url %q", cfg.BaseURL)
	}
	if cfg.Username == "" {
		return nil, errors.New("oauth: no username")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.RefreshAt <= 0 || cfg.RefreshAt >= 1 {
		cfg.RefreshAt = 0.7
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = 5 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = relay.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = cfg.Logger.With("user", cfg.Username)
	return &Source{cfg: cfg}, nil
}

// Start takes a token (password grant) and renews it on schedule until
// Stop. A rejected password fails Start.
func (s *Source) Start(ctx context.Context) error {
	return s.life.Start(ctx, func(ctx context.Context) (func(), error) {
		if _, err := s.Token(ctx); err != nil {
			return nil, err
		}
		run, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go s.renew(run, done)
		return func() {
			cancel()
			<-done
		}, nil
	})
}

// Stop ends the renewals. Safe twice.
func (s *Source) Stop() { s.life.Stop() }

// Token returns a valid access token, taking one with the password grant
// when none is held or it has expired.
func (s *Source) Token(ctx context.Context) (string, error) {
	for {
		s.mu.Lock()
		if s.access != "" && s.cfg.Clock.Now().Before(s.expires) {
			tok := s.access
			s.mu.Unlock()
			return tok, nil
		}
		if s.fetch != nil { // another caller is taking one
			ch := s.fetch
			s.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return "", fmt.Errorf("oauth: wait for a token: %w", ctx.Err())
			}
		}
		ch := make(chan struct{})
		s.fetch = ch
		s.mu.Unlock()
		err := s.refreshGrant(ctx)
		if err != nil {
			err = s.grant(ctx, url.Values{"grant_type": {"password"}, "username": {s.cfg.Username}, "password": {s.cfg.Password}})
		}
		s.mu.Lock()
		s.fetch = nil
		s.mu.Unlock()
		close(ch)
		if err != nil {
			return "", err
		}
	}
}

// Invalidate drops the token held (the server refused it before its
// time); the next Token takes a new one, by refresh when it can.
func (s *Source) Invalidate() {
	s.mu.Lock()
	s.access, s.expires = "", time.Time{}
	s.mu.Unlock()
}

// Expires reports when the token held expires (zero when none is held).
func (s *Source) Expires() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expires
}

// renew refreshes the token at RefreshAt of its life; a failed refresh
// falls back to the password grant, and failures retry after RetryDelay
// while the old token is still good.
func (s *Source) renew(ctx context.Context, done chan struct{}) {
	defer close(done)
	for {
		s.mu.Lock()
		wait := s.renewAt.Sub(s.cfg.Clock.Now())
		s.mu.Unlock()
		if wait > 0 {
			select {
			case <-s.cfg.Clock.After(wait):
			case <-ctx.Done():
				return
			}
		}
		if err := s.renewOnce(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.cfg.Logger.Warn("epbx token renewal failed", "err", err)
			s.mu.Lock()
			s.renewAt = s.cfg.Clock.Now().Add(s.cfg.RetryDelay)
			s.mu.Unlock()
		}
	}
}

func (s *Source) refreshGrant(ctx context.Context) error {
	s.mu.Lock()
	rt := s.refresh
	s.mu.Unlock()
	if rt == "" {
		return errors.New("oauth: no refresh token")
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	return s.grant(ctx, form)
}

func (s *Source) renewOnce(ctx context.Context) error {
	err := s.refreshGrant(ctx)
	if err == nil {
		s.cfg.Logger.Debug("epbx token refreshed")
		return nil
	}
	s.cfg.Logger.Info("epbx token refresh failed; password grant", "err", err)
	return s.grant(ctx, url.Values{"grant_type": {"password"}, "username": {s.cfg.Username}, "password": {s.cfg.Password}})
}

// grant posts one grant and keeps the token it answers.
func (s *Source) grant(ctx context.Context, form url.Values) error {
	kind := form.Get("grant_type")
	if s.cfg.ClientID != "" {
		form.Set("client_id", s.cfg.ClientID)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", s.cfg.BaseURL+"/oauth2/Token", strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("oauth: %s grant: %w", kind, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	now := s.cfg.Clock.Now()
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return relay.Transient(fmt.Errorf("oauth: %s grant: %w", kind, err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var tok struct {
		Access  string  `json:"access_token"`
		Refresh string  `json:"refresh_token"`
		Expires float64 `json:"expires_in"`
		Error   string  `json:"error"`
		Desc    string  `json:"error_description"`
	}
	_ = json.Unmarshal(body, &tok)
	if resp.StatusCode != http.StatusOK || tok.Access == "" {
		// Only the server's error code and description: the body of a
		// success carries tokens.
		msg := strings.TrimSpace(tok.Error + " " + tok.Desc)
		if msg == "" {
			msg = "no token in the answer"
		}
		err := fmt.Errorf("oauth: %s grant: http %d: %s", kind, resp.StatusCode, msg)
		if resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized {
			return fmt.Errorf("%w (%w)", ErrRejected, err)
		}
		return relay.Transient(err)
	}
	life := time.Duration(tok.Expires * float64(time.Second))
	if life <= 0 {
		life = 10 * time.Minute // the EPBX default
	}
	s.mu.Lock()
	s.access = tok.Access
	if tok.Refresh != "" {
		s.refresh = tok.Refresh
	}
	s.expires = now.Add(life)
	s.renewAt = now.Add(time.Duration(float64(life) * s.cfg.RefreshAt))
	s.mu.Unlock()
	return nil
}
