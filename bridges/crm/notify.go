package crm

import (
	"context"
	"errors"
	"net/http"

	httpbridge "github.com/ctirelay/ctirelay/bridges/http"
	"github.com/ctirelay/ctirelay/relay/httpdial"
)

// Platform is a click-to-dial platform whose call reports the relay
// receives: the *httpdial.Driver.
type Platform interface {
	Vars() httpdial.Vars
	Notify(ctx context.Context, n httpdial.Notification) error
}

var _ Platform = (*httpdial.Driver)(nil)

// PlatformRoute is the route pattern of PlatformHandler.
const PlatformRoute = "/v1/platform/{name}/call"

// PlatformHandler serves PlatformRoute (GET or POST; query, form or JSON):
// a platform's report of a call, handed to its driver, which turns it into
// events. Unknown extensions are noted in the journal and answered 404.
type PlatformHandler struct {
	Platforms    map[string]Platform // by switch name: the {name} of the route
	Journal      Journal
	MaxBodyBytes int64
	// Guard authenticates the platform: the HTTP bridge's bearer token
	// (group commands) or the route's own token.
	Guard Guard
}

func (h *PlatformHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "GET or POST")
		return
	}
	if !h.Guard.allow(r, httpbridge.GroupCommands) {
		h.Guard.refuse(w)
		return
	}
	name := r.PathValue("name")
	p, ok := h.Platforms[name]
	if !ok {
		writeError(w, http.StatusNotFound, "unknown_platform", "no click-to-dial platform is named "+name)
		return
	}
	get, err := values(w, r, h.MaxBodyBytes)
	if err != nil {
		badBody(w, err)
		return
	}
	n, err := p.Vars().Parse(get)
	if err == nil {
		err = p.Notify(r.Context(), n)
	}
	var unknown *httpdial.UnknownExtensionError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]string{"result": "OK"})
	case errors.As(err, &unknown):
		if h.Journal != nil {
			h.Journal.Note(r.Context(), Note{What: "unknown-extension", Rule: "platform " + name, Detail: "call report for extension " + unknown.Extension + " answered 404: " + string(n.Event)})
		}
		writeError(w, http.StatusNotFound, "unknown_extension", err.Error())
	case errors.Is(err, httpdial.ErrBadNotification):
		writeError(w, http.StatusBadRequest, "bad_notification", err.Error())
	case errors.Is(err, httpdial.ErrNotOpen), errors.Is(err, httpdial.ErrClosed):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
	case r.Context().Err() != nil:
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the request ended before the events were written")
	default:
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
	}
}
