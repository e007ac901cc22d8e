// Package conformance checks wire compatibility with third-party FastDFS
// clients: pinned npm packages (package.json, package-lock.json) driven by
// Node scripts against an in-process cluster. Install them with
// `npm ci --prefix tests/conformance` before `go test`.
package conformance
