// Package tactium speaks the Tactium IP "Integração Socket" protocol as a
// client: Driver is the relay's switch driver for a Tactium IP Integration
// server (default port 34025). The package also holds what both ends of that
// socket share: the wire charset and the reply/event classification.
//
// docs/tactium.md describes the configuration, how replies are told apart
// from events and what happens when the connection is lost.
package tactium
