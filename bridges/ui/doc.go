// Package ui is the live operator dashboard: server-rendered html/template
// pages and one small plain JavaScript file (EventSource + fetch), embedded
// with go:embed, served under /ui/.
//
// It is an http.Handler over small interfaces (the feed, the store's
// operator views, the node list, a clock, the HTTP bridge's token check),
// mounted at /ui/ on the HTTP bridge's listener (httpbridge.Config.Mounts,
// with no group: it signs viewers in itself, with Bridge.Authorize).
//
// The summary (health, queues, agents, dead letters, jobs) is computed once per
// interval on the server, rendered once, and the same bytes are pushed to
// every viewer: twenty tabs cost the database what one does. The live
// journal comes from the feed (one reader for every subscriber), and the
// agents' states from the switch's replies and events seen on it.
//
// Every text from the ERP or the switch goes through html/template's
// contextual escaping, including the fragments pushed over SSE, which the
// page inserts as they are (the script never builds markup from data).
// Viewers sign in once and keep an HttpOnly, SameSite=Strict cookie, since
// EventSource cannot send headers; actions carry a CSRF token.
package ui
