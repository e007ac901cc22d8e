// Package console is the gateway's web console: static HTML, JavaScript
// and CSS embedded in the binary and served under /console/ when
// gateway.yaml sets console: true. The page holds no data of its own: it
// calls the public REST API (/v1/...) with the API key the user types,
// so it can do exactly what that key may do. It shows the cluster map
// (groups, storages, states, disk, sync lag), looks files up by ID (info,
// metadata, download) and uploads dropped files with a progress bar.
package console
