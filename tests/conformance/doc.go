// Package conformance checks wire compatibility with third-party FastDFS
// clients: pinned npm packages (package.json, package-lock.json) driven by
// Node scripts against an in-process cluster, and tus-js-client against
// the gateway's tus routes (killed mid-upload, resumed by a new process).
// Install them with
// `npm ci --prefix tests/conformance` before `go test`.
package conformance
