// Package signalr is a client of the legacy ASP.NET SignalR 2 protocol
// (protocol 1.5, WebSocket transport only), which the Talk Telecom EPBX hub
// speaks. The ASP.NET Core SignalR clients do not interoperate with it: their
// negotiate and framing differ.
//
// One Client is one SignalR connection: negotiate, connect (the first frame
// carries "S":1), start, then hub invocations and server calls on one
// WebSocket. A socket lost, a keep-alive missed or a server asking for it
// ("T":1) makes the client reconnect with the last message id and groups
// token every two seconds for the server's DisconnectTimeout; after that it
// starts over (negotiate, connect, start) and calls Config.OnRestart, since
// the hub's state for the connection is gone. Stop aborts the connection.
//
// Invocations in flight when the socket is lost fail with ErrLost: the server
// may have acted on them, and results are never replayed on reconnect.
package signalr
