// Package sim is the simulated switch: a small Tactium-like ACD with agents,
// states, inbound calls, manual and dialer outbound calls, recordings and
// wrap-up, driven by an injected clock and a seeded random source so a run can
// be replayed event for event.
//
// Switch is the model and is what a Tactium-compatible socket server serves;
// Driver adapts it to relay.Driver so the relay can use it as its switch.
// docs/simulator.md describes the behaviour command by command.
package sim
