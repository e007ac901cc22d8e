// Package trunk tests trunk storage (use_trunk_file = true) on real
// servers: small uploads stored as slots of trunk files by the group's
// trunk server, read back, deleted and reused, the trunk server elected
// by the tracker, allocation through it from the other storages, and
// replication of trunk files between the storages of a group, their
// listing (LIST_FILES) and their repair by the scrubber.
package trunk
