package storagenode

// Keys of .data_init_flag (upstream storage_func.c writes the same names):
// what the storage remembers across restarts about its place in the group.
// They are read and written from several files (tracker sessions, sync,
// recovery, store), hence named once here.
const (
	// flagJoinTime is storage_join_time: when the storage first joined
	// (unix seconds); it tells the trackers which files predate it.
	flagJoinTime = "storage_join_time"
	// flagSyncOldDone is sync_old_done: "1" once the initial copy of the
	// group's existing files is done (or was not needed).
	flagSyncOldDone = "sync_old_done"
	// flagSyncSrcServer is sync_src_server: the storage the initial copy
	// comes from ("" when none is needed or none is known yet).
	flagSyncSrcServer = "sync_src_server"
	// flagSyncUntil is sync_until_timestamp: files up to this time come
	// from the initial copy, later ones by normal replication.
	flagSyncUntil = "sync_until_timestamp"
	// flagLastIPAddr and flagLastServerPort are the address the trackers
	// saw the storage at last (GET_MY_IP): a change is an IP change.
	flagLastIPAddr     = "last_ip_addr"
	flagLastServerPort = "last_server_port"
	// flagCurrentTrunkFileID is current_trunk_file_id: the last trunk
	// file id this storage created as its group's trunk server.
	flagCurrentTrunkFileID = "current_trunk_file_id"
	// flagTrunkLastCompress is trunk_last_compress_time: when the trunk
	// binlog was last compressed (unix seconds).
	flagTrunkLastCompress = "trunk_last_compress_time"
)

// flagDone is the value of flagSyncOldDone once the initial copy is done.
const flagDone = "1"
