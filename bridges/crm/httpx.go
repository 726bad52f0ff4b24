package crm

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/ctirelay/ctirelay/relay/httpdial"
)

// DefaultMaxBodyBytes bounds a request's body when a handler's limit is 0.
const DefaultMaxBodyBytes = 16 << 10

// errorJSON is the answer of a refused request.
type errorJSON struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorJSON{Error: code, Message: msg})
}

// errTooLarge is what reading an oversized body returns.
var errTooLarge = errors.New("request body too large")

// values reads a request's variables: query, then a form or a JSON object
// body (whose numbers and booleans are taken as text). The body is bounded
// by limit.
func values(w http.ResponseWriter, r *http.Request, limit int64) (func(string) string, error) {
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	q := r.URL.Query()
	body := map[string]string{}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch ct {
		case "application/json":
			var m map[string]any
			dec := json.NewDecoder(r.Body)
			if err := dec.Decode(&m); err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return nil, errTooLarge
				}
				return nil, fmt.Errorf("body is not a JSON object: %w", err)
			}
			for k, v := range m {
				switch v := v.(type) {
				case string:
					body[k] = v
				case nil:
				case map[string]any, []any:
					return nil, fmt.Errorf("field %q is not a string or a number", k)
				default:
					body[k] = fmt.Sprint(v)
				}
			}
		case "application/x-www-form-urlencoded", "multipart/form-data", "":
			if err := r.ParseForm(); err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return nil, errTooLarge
				}
				return nil, fmt.Errorf("read form: %w", err)
			}
			for k := range r.PostForm {
				body[k] = r.PostForm.Get(k)
			}
		default:
			return nil, fmt.Errorf("content type %q is not a form or JSON", ct)
		}
	}
	return func(name string) string {
		if v := q.Get(name); v != "" {
			return strings.TrimSpace(v)
		}
		return strings.TrimSpace(body[name])
	}, nil
}

// badBody answers a request whose variables could not be read.
func badBody(w http.ResponseWriter, err error) {
	if errors.Is(err, errTooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the request body is over the limit")
		return
	}
	writeError(w, http.StatusBadRequest, "bad_request", err.Error())
}

func same(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// authorized checks a request against the document's cti_autenticacao
// modes with creds (the agent's, global ones merged in): 1 basic, 2 the
// token_auth header, 3 token= in the URL, 4 basic and the header.
func authorized(r *http.Request, mode httpdial.AuthMode, creds httpdial.Credentials) bool {
	switch mode {
	case httpdial.AuthNone:
		return true
	case httpdial.AuthBasic, httpdial.AuthBasicHeader:
		u, p, ok := r.BasicAuth()
		if !ok || creds.User == "" || !same(u, creds.User) || !same(p, creds.Password) {
			return false
		}
		if mode == httpdial.AuthBasic {
			return true
		}
		fallthrough
	case httpdial.AuthHeader:
		t := r.Header.Get(httpdial.TokenHeader)
		return creds.Token != "" && same(t, creds.Token)
	case httpdial.AuthURLToken:
		return creds.Token != "" && same(r.URL.Query().Get("token"), creds.Token)
	}
	return false
}

func unauthorized(w http.ResponseWriter, mode httpdial.AuthMode) {
	if mode == httpdial.AuthBasic || mode == httpdial.AuthBasicHeader {
		w.Header().Set("WWW-Authenticate", `Basic realm="ctirelay"`)
	}
	writeError(w, http.StatusUnauthorized, "unauthorized", "credentials missing or wrong")
}

// Bridge is the HTTP bridge the routes are mounted on (*httpbridge.Bridge):
// its bearer tokens, for routes that authenticate in their handler.
type Bridge interface {
	Authorize(r *http.Request, group string) (string, int)
	Open() bool
}

// Guard authenticates a route that has no cti_autenticacao of its own
// (Divalto's service, a platform's call reports, Senior's mode 0): a
// bearer token of the HTTP bridge allowed the route's group, or Token, given
// as token= in the URL or the token_auth header, for clients that can only
// be given a URL. With neither a token nor a bridge with tokens configured
// the route is open: the bridge then listens on loopback only.
type Guard struct {
	Token  string
	Bridge Bridge
}

func (g Guard) allow(r *http.Request, group string) bool {
	if g.Token != "" {
		if same(r.URL.Query().Get("token"), g.Token) || same(r.Header.Get(httpdial.TokenHeader), g.Token) {
			return true
		}
	}
	if g.Bridge == nil || g.Bridge.Open() {
		return g.Token == ""
	}
	_, status := g.Bridge.Authorize(r, group)
	return status == http.StatusOK
}

func (g Guard) refuse(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="ctirelay"`)
	writeError(w, http.StatusUnauthorized, "unauthorized", "a bearer token of the HTTP bridge or the route's token is required")
}
