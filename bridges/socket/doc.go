// Package socket is the relay's socket bridge: a Tactium-compatible TCP
// server (bridges/tactiumserver) in front of the durable queue, for clients that
// speak the Tactium IP socket protocol and cannot do SQL.
//
// Commands received on a connection are enqueued (source "socket", the
// connection as reference) exactly like T_TTI rows, so they keep the
// agent's order with every other source; the reply is found in the journal
// and written back on that connection. Switch events are mirrored from the
// journal to the connections bound to their agent and to ADMSOCKET ones, by
// one follower per process whatever the number of clients. A durable
// position per login (relay_cursor) lets a client that reconnects ask for
// what it missed with <login><REPLAY>$. docs/tactium.md has the details.
package socket
