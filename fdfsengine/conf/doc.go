// Package conf parses the upstream FastDFS configuration files (tracker.conf,
// storage.conf, client.conf, the http.conf they include, and storage_ids.conf)
// and applies the upstream defaults.
//
// The generic layer (File) understands the ini-like upstream syntax: "#"
// comments, "#include other.conf" (relative to the including file), and
// "key = value" lines where a key may repeat (tracker_server). The typed
// layer (Tracker, Storage, Client, StorageIDs) converts the keys FastDFS
// V6.16 reads into Go values, using the code defaults where the upstream
// sample files differ from them. Unknown keys are accepted and remain
// available through the Raw field.
package conf
