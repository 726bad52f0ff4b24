// Package httpbridge is the HTTP bridge: a REST API (/v1) onto the durable
// queue through the process's relay.Feed, long-poll and Server-Sent Events
// on the journal, signed webhooks driven by the journal, health checks and
// Prometheus metrics. It is a thin transport: admission, ordering and
// replies are the queue's.
//
// The package is named httpbridge, not http, so that it does not shadow
// net/http where both are imported.
package httpbridge
