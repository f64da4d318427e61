// Package auditformat is the Go rendering of docs/audit-format.md that both the writer and the verifier use:
// RFC 8785 canonical JSON (strings, key order, ECMAScript doubles), the record hash with its domain prefix,
// checkpoint statements and their Ed25519 signatures, recorded-time formatting and the file names of a trail.
//
// It is the one place in Go where these are computed. It holds no I/O and no state; every function is safe for
// concurrent use.
package auditformat
