// Package crm makes the relay the CTI that URL-driven CRMs are configured
// against (issue 13): the call reports of click-to-dial platforms
// (/v1/platform/{name}/call, handed to the httpdial driver), Senior CRM X's
// click-to-dial route and call notifications, Divalto's getevent/setevent
// service, and the screen-pop rules that decide which incoming calls pop.
//
// Each piece is a plain http.Handler or a feed subscriber taking small
// interfaces (the *relay.Feed, the store's Publish, a Journal, a clock, a
// logger), so the HTTP bridge can mount them on its mux, behind its
// listener, tokens and limits.
package crm
