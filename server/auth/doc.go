// Package auth authenticates gateway requests with API keys (bearer
// tokens) and authorizes them by the key's mode: a read-only key may
// download and look, a read-write key may also upload, change and delete.
//
// Clients present a key as "Authorization: Bearer <key>" or "X-API-Key:
// <key>", over HTTP as headers and over gRPC as metadata of the same names.
// A request without a known key is refused with 401 / codes.Unauthenticated,
// a write with a read-only key with 403 / codes.PermissionDenied.
//
// Keys are looked up by their SHA-256 digest, so the time a lookup takes
// does not depend on how much of a guessed key is right.
package auth
