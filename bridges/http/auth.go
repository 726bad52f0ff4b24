package httpbridge

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
)

// auth checks bearer tokens. Secrets are compared by their SHA-256 in
// constant time, against every token (a match does not end the loop), so
// neither timing nor the answer tells which tokens exist.
type auth struct {
	tokens []authToken
}

type authToken struct {
	name   string
	sum    [32]byte
	groups []string
}

func newAuth(tokens []Token) *auth {
	a := &auth{}
	for _, t := range tokens {
		a.tokens = append(a.tokens, authToken{name: t.Name, sum: sha256.Sum256([]byte(t.Secret)), groups: t.Groups})
	}
	return a
}

// open: with no tokens every route is open (the bridge is then on loopback).
func (a *auth) open() bool { return len(a.tokens) == 0 }

// check returns the token's name, or the status to answer: 401 when no
// known token was given, 403 when it does not have the group.
func (a *auth) check(r *http.Request, group string) (string, int) {
	if a.open() {
		return "", 0
	}
	h := r.Header.Get("Authorization")
	secret, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		// EventSource cannot send headers: a query token, on the stream
		// route only (URLs end up in proxies' logs).
		if r.URL.Path == "/v1/events/stream" {
			secret = r.URL.Query().Get("access_token")
		}
		if secret == "" {
			return "", http.StatusUnauthorized
		}
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(secret)))
	found := -1
	for i := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], a.tokens[i].sum[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", http.StatusUnauthorized
	}
	t := a.tokens[found]
	if !slices.Contains(t.groups, group) {
		return t.name, http.StatusForbidden
	}
	return t.name, 0
}
