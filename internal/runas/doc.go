// Package runas makes a daemon started as root run as the user and group
// named by run_by_user / run_by_group, as upstream's daemons do. The
// directories the daemon writes in are created first (as root, given to
// that user, so a base_path under a root-owned folder works as upstream's),
// then every thread's ids change, and what the daemon will write is
// checked to be writable by its new user: a data directory left
// root-owned by a daemon once run as root is named at start, with the
// chown that mends it, instead of failing the first upload.
package runas
