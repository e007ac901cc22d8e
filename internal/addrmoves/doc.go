// Package addrmoves is the record of storages' address changes (IP mode,
// STORAGE_REPORT_IP_CHANGED): which address each earlier one moved to, so
// that a file name carrying the address its source had at upload still
// finds that storage. The tracker rebuilds one from its changelog, a
// storage keeps one in a file of its own; neither locks nor stores here.
package addrmoves
