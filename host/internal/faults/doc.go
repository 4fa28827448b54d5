// Package faults is Atom's fault suite: cross-tenant attacks over the REST
// API, the integrations page and direct SQL; OAuth state and redirect
// tampering; plaintext-secret scans of every table; plugin crashes,
// misbehaving wasm pieces and hot replacement under load; a PostgreSQL
// restart under write load; and malformed input on every route.
//
// The package holds tests only. `make test-faults` runs them together with
// the fuzz targets of the packages they harden; RELIABILITY.md at the
// repository root lists every case and its result.
package faults
