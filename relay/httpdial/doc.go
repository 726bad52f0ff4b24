// Package httpdial drives click-to-dial HTTP platforms, the kind Senior CRM X
// is configured against: a dial is one request to a URL built from the
// document's template
//
//	$protocolo://$ip:$porta/$caminho?$nomeOrigem=$ramal&$nomeDestino=$phone$tokenUrl
//
// with one of the document's four authentication modes. Driver is the
// relay's switch driver for such a platform; the platform reports its calls
// back by URL, and Notify turns those reports into the relay's events (the
// HTTP bridge mounts it). Package simplatform serves the simulated switch as
// such a platform.
//
// docs/httpdial.md describes the configuration, the dial rules, how answers
// are classified and what is in doubt.
package httpdial
