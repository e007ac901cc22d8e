// Package conf parses the upstream FastDFS V6.16.1 configuration files
// (tracker.conf, storage.conf, client.conf, http.conf, fastdfs-nginx-module's
// mod_fastdfs.conf, and storage_ids.conf) the way the C daemons do.
//
// The generic layer (File) is libfastcommon's ini reader: "#" comments,
// "key = value" lines where a key may repeat (tracker_server), "[section]"s,
// "#include other.conf" (relative to the top-level file's directory), and
// the #@set / #@if / #@for / #@function directives. The typed layer
// (Tracker, Storage, Client, ModFastDFS, HTTPParams, StorageIDs) applies
// upstream's getters (atoi integers, true/yes/on/1 booleans, parse_bytes
// sizes, HH:MM times, "auto" values), code defaults and corrections, so its
// fields hold the effective values the C daemons would use; the stock
// files as shipped are kept in testdata/stock and checked key by key.
//
// A value upstream refuses is an *Error naming file:line, the key and the
// accepted forms (a configuration error, not a wire status); a value upstream corrects
// with a warning is corrected the same way and the warning recorded in
// File.Warnings. Unknown keys are accepted and remain available through the
// Raw field.
package conf
