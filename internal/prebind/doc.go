// Package prebind binds a daemon's listening sockets before it gives up
// root for run_by_user / run_by_group, as upstream's daemons bind before
// they switch: a port under 1024 (the storage's HTTP downloads on 80, a
// metrics port) then needs no CAP_NET_BIND_SERVICE. The daemon binds the
// addresses its servers will listen on (Bind); each server then takes its
// socket by address (Listen), or binds one itself when none was bound,
// as in tests and embedded servers.
package prebind
