package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// CookieName is the session cookie: HttpOnly, SameSite=Strict, Path /ui/.
const CookieName = "ctirelay_ui"

// sessions are kept in memory: a restart signs everyone out, which for an
// operator's screen is only a sign-in again.
type sessions struct {
	clock relay.Clock
	ttl   time.Duration
	mu    sync.Mutex
	byID  map[string]*session
}

type session struct {
	csrf    string
	admin   bool
	expires time.Time
}

const sessionsMax = 10000

func (s *sessions) init(c relay.Clock, ttl time.Duration) {
	s.clock, s.ttl, s.byID = c, ttl, map[string]*session{}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *sessions) create(w http.ResponseWriter, r *http.Request, admin bool) *session {
	id := randomToken()
	now := s.clock.Now()
	sess := &session{csrf: randomToken(), admin: admin, expires: now.Add(s.ttl)}
	s.mu.Lock()
	if len(s.byID) >= sessionsMax {
		for k, v := range s.byID {
			if !v.expires.After(now) {
				delete(s.byID, k)
			}
		}
		if len(s.byID) >= sessionsMax {
			for k := range s.byID { // full of live ones: drop any
				delete(s.byID, k)
				break
			}
		}
	}
	s.byID[id] = sess
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: "/ui/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
		// Relative: the browser's clock need not agree with ours (the server
		// enforces the expiry with its own).
		MaxAge: int(s.ttl / time.Second)})
	return sess
}

func (s *sessions) get(id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.byID[id]
	if sess == nil {
		return nil
	}
	if !sess.expires.After(s.clock.Now()) {
		delete(s.byID, id)
		return nil
	}
	return sess
}

func (s *sessions) drop(id string) {
	s.mu.Lock()
	delete(s.byID, id)
	s.mu.Unlock()
}

func (h *Handler) session(r *http.Request) *session {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return nil
	}
	return h.sessions.get(c.Value)
}

// login takes the token once, from a form, and hands back the cookie.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	admin := true
	if !h.open() {
		// The token is checked once, as a bearer token of the bridge's.
		tr := r.Clone(r.Context())
		tr.Header = http.Header{"Authorization": {"Bearer " + strings.TrimSpace(r.PostFormValue("token"))}}
		_, look := h.cfg.Auth.Authorize(tr, GroupEvents)
		_, act := h.cfg.Auth.Authorize(tr, GroupAdmin)
		admin = act == http.StatusOK
		if !admin && look != http.StatusOK {
			h.log.Info("sign-in refused", "client", r.RemoteAddr)
			http.Redirect(w, r, "./?failed", http.StatusSeeOther)
			return
		}
	}
	h.sessions.create(w, r, admin)
	http.Redirect(w, r, "./", http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if sess := h.session(r); sess == nil || !h.csrfOK(sess, r.PostFormValue("csrf")) {
		http.Error(w, "bad request", http.StatusForbidden)
		return
	}
	c, _ := r.Cookie(CookieName)
	h.sessions.drop(c.Value)
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/ui/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "./", http.StatusSeeOther)
}

func (h *Handler) csrfOK(sess *session, token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(sess.csrf)) == 1
}

// deadRequest is the body of POST /ui/api/dead: ids, or every letter
// matching a filter (the page's filter text) when All is set.
type deadRequest struct {
	Action string  `json:"action"` // retry | drop
	IDs    []int64 `json:"ids"`
	All    bool    `json:"all"`
	Filter string  `json:"filter"`
}

type deadResult struct {
	Action  string `json:"action"`
	Matched int    `json:"matched"`
	Done    int    `json:"done"`
}

// dead retries or drops dead letters: admin only, with the CSRF token.
func (h *Handler) dead(w http.ResponseWriter, r *http.Request) {
	sess := h.session(r)
	if sess == nil {
		jsonError(w, http.StatusUnauthorized, "sign in first")
		return
	}
	if !h.csrfOK(sess, r.Header.Get("X-CSRF-Token")) {
		jsonError(w, http.StatusForbidden, "missing or wrong CSRF token")
		return
	}
	if !sess.admin {
		jsonError(w, http.StatusForbidden, "this needs the admin token")
		return
	}
	var req deadRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		jsonError(w, http.StatusBadRequest, "bad request body")
		return
	}
	if req.Action != "retry" && req.Action != "drop" {
		jsonError(w, http.StatusBadRequest, `action must be "retry" or "drop"`)
		return
	}
	ctx := r.Context()
	ids := req.IDs
	if req.All {
		var err error
		if ids, err = h.matching(r, req.Filter); err != nil {
			h.log.Error("list dead letters", "err", err)
			jsonError(w, http.StatusInternalServerError, "list dead letters failed")
			return
		}
	}
	res := deadResult{Action: req.Action, Matched: len(ids)}
	if len(ids) > 0 {
		var err error
		if req.Action == "retry" {
			res.Done, err = h.cfg.Store.RetryDead(ctx, ids, h.cfg.Clock.Now())
		} else {
			res.Done, err = h.cfg.Store.DropDead(ctx, ids)
		}
		if err != nil {
			h.log.Error("dead letters", "action", req.Action, "err", err)
			jsonError(w, http.StatusInternalServerError, req.Action+" failed")
			return
		}
	}
	h.log.Info("dead letters", "action", req.Action, "matched", res.Matched, "done", res.Done)
	h.Refresh()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// matching pages through every dead letter for those the filter takes, as
// the page's filter does (deadMatch, and ui.js's).
func (h *Handler) matching(r *http.Request, filter string) ([]int64, error) {
	var ids []int64
	var after int64
	for {
		page, err := h.cfg.Store.DeadLetters(r.Context(), after, 500)
		if err != nil {
			return nil, err
		}
		for _, d := range page {
			if deadMatch(d, filter) {
				ids = append(ids, d.ID)
			}
			after = d.ID
		}
		if len(page) < 500 {
			return ids, nil
		}
	}
}

// deadText is what the filter searches in a dead letter (the row's
// data-text on the page).
func deadText(d relay.DeadLetter) string {
	return strings.ToLower(strings.Join([]string{d.Agent, d.Source, string(d.Verb), d.Code, d.Reason, d.Frame}, " "))
}

func deadMatch(d relay.DeadLetter, filter string) bool {
	return strings.Contains(deadText(d), strings.ToLower(strings.TrimSpace(filter)))
}
