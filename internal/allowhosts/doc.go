// Package allowhosts is upstream's allow_hosts setting of tracker.conf and
// storage.conf, parsed in upstream's forms (addresses, CIDR, bracketed
// ranges, host names) into the set of peer addresses a daemon talks to.
package allowhosts
