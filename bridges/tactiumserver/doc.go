// Package tactiumserver is a Tactium-compatible socket server: the server side of
// the Tactium IP "Integração Socket" protocol, with the command handling left
// to a Backend. ctirelay serves its simulated switch with it (package simbackend),
// and the relay's socket bridge serves the durable queue with it.
//
// A connection is bound to an agent by <login><L><ON>$ or <login><S>$ and
// then receives that agent's events; <ADMSOCKET><L><ON>$ (or <ADMSOCKET><S>$)
// binds it to every agent, optionally only with a shared secret. Replies go
// back on the connection that sent the command, in order. docs/tactium.md
// has the details.
package tactiumserver
