// Package spool is the relay's SIGACTI file bridge: TOTVS Protheus writes
// one request file per user into a Tx directory (<Tx>/<user>.CTI) and reads
// the CTI's answers from an Rx directory (<Rx>/<user>.CTI). The bridge
// carries Tactium frames (docs/protocol.md) inside those files, through the
// process's relay.Feed, with the same per-agent order, journal and dead
// letters as T_TTI.
//
// The package is called spool, not file, so it does not collide with the
// variables named file everywhere else; the directory is bridges/file like
// the other bridges, named after their transport.
//
// A scan of Tx is the source of truth (network shares give no change
// notifications). Answers go to Rx through a temporary file, fsync and a
// rename that never replaces an existing <user>.CTI (renameNoReplace, per
// OS). Durable state lives in relay_cursor:
//
//	file:rx:<user>          journal id of the last entry written in <user>.CTI
//	file:tx:<user>          identity (mtime, ns) of the last Tx file enqueued
//	file:bind:<user>:<login>  inbox id of the L ON that bound them
//	file:unbind:<user>:<login> inbox id of the L OFF that unbound them
//	file                    every entry before it is written for every user
//
// docs/file.md is the administrator's guide.
package spool
