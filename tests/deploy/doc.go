// Package deploy checks the files of deploy/: the systemd units with
// systemd-analyze verify (skipped when it is absent), the Dockerfile's
// build command run as written with a check that the binary is static,
// the compose file through compose-go's loader (the compose-spec JSON
// schema) and the Kubernetes manifests decoded strictly into the
// Kubernetes API's Go types, plus the cross-references no schema sees
// (selectors, ports, volumes, Services) and the conf files they carry,
// parsed by the daemons' own loaders; and `make install` with the links
// under which the binary takes the C daemons' command line.
package deploy
