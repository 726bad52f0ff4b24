// Package crm makes the relay the CTI that URL-driven CRMs are configured
// against (issue 13): the call reports of click-to-dial platforms
// (/v1/platform/{name}/call, handed to the httpdial driver), Senior CRM X's
// click-to-dial route and call notifications, Divalto's getevent/setevent
// service, and the screen-pop rules that decide which incoming calls pop.
//
// The handlers are mounted on the HTTP bridge (httpbridge.Mount with no
// group): they authenticate themselves, with Senior's cti_autenticacao or a
// Guard (the bridge's bearer tokens by group, or a token of their own).
// Senior's notifications are the Format of one of the bridge's webhooks
// (SeniorReports), and what the crm decides (a suppressed pop, an unknown
// extension, a failed lookup) is a note in the relay's journal (Notes).
package crm
