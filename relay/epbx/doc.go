// Package epbx is the relay's switch driver for a Talk Telecom EPBX: an
// OAuth token endpoint and the AtendimentoHub of an ASP.NET SignalR 2
// endpoint.
//
// EPBX binds a SignalR connection to the user whose token opened it and to
// the extension its Iniciar started, and a hub call names no extension, so
// the driver holds one authenticated connection per agent it serves, opened
// at the agent's first command (normally L ON) and closed at L OFF. Agent
// states are tracked from the hub's events, which are also what becomes the
// relay's A, R, G and EndCall events; every other hub event is passed on as
// an EV extension event, so nothing the hub says is lost.
package epbx
