package protocol_test

import (
	"bytes"
	"errors"
	"maps"
	"reflect"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/fdfsengine/tracefile"
)

// The fuzz targets below feed arbitrary bodies to the body decoders. Every
// decoder must either reject the input with an error wrapping ErrInvalid or
// return a value whose encoding decodes back to the same value and encodes
// to the same bytes again (a decode∘encode fixed point). Bytes lost on the
// first decode (garbage after a NUL in a fixed field, upper CRC bits) are
// why the check starts from the first re-encoding rather than the input.
//
// Seeds are every request and response body of the upstream traces, so
// `go test` replays real traffic and `go test -fuzz` mutates from it.

// traceSeeds returns (cmd, body, isResponse) for every exchange in the
// traces. A missing trace directory fails the test: the seeds are the point.
func traceSeeds(f *testing.F) (reqs, resps []seed) {
	f.Helper()
	all, err := tracefile.LoadAll()
	if err != nil {
		f.Fatalf("loading trace seeds: %v", err)
	}
	for _, ex := range all {
		h, err := protocol.DecodeHeader(ex.Request)
		if err != nil {
			f.Fatalf("%s: %v", ex.Path, err)
		}
		reqs = append(reqs, seed{h.Cmd, ex.Request[protocol.HeaderSize:]})
		if len(ex.Response) > protocol.HeaderSize {
			resps = append(resps, seed{h.Cmd, ex.Response[protocol.HeaderSize:]})
		}
	}
	return reqs, resps
}

type seed struct {
	cmd  byte
	body []byte
}

// checkInvalid fails unless err wraps ErrInvalid: malformed bodies must map
// to EINVAL on the wire, never to another status.
func checkInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, protocol.ErrInvalid) {
		t.Fatalf("%s: error %v does not wrap ErrInvalid", what, err)
	}
}

// fixedPoint checks the decode/encode round trip of a whole-body decoder.
func fixedPoint[T any](t *testing.T, what string, b []byte, dec func([]byte) (T, error), enc func(T) []byte) {
	t.Helper()
	v1, err := dec(b)
	if err != nil {
		checkInvalid(t, what, err)
		return
	}
	e1 := enc(v1)
	v2, err := dec(e1)
	if err != nil {
		t.Fatalf("%s: re-encoding %x of %+v does not decode: %v", what, e1, v1, err)
	}
	if !reflect.DeepEqual(v1, v2) {
		t.Fatalf("%s: %+v re-decodes as %+v", what, v1, v2)
	}
	if e2 := enc(v2); !bytes.Equal(e1, e2) {
		t.Fatalf("%s: encoding not stable: %x then %x", what, e1, e2)
	}
}

// prefixFixedPoint is fixedPoint for decoders of a body prefix that report
// how many bytes they consumed: that count must not exceed the input and
// must equal the length of the re-encoding.
func prefixFixedPoint[T any](t *testing.T, what string, b []byte, dec func([]byte) (T, int, error), enc func(T) []byte) {
	t.Helper()
	whole := func(p []byte) (T, error) {
		v, n, err := dec(p)
		if err == nil && (n < 0 || n > len(p)) {
			t.Fatalf("%s: consumed %d of %d bytes", what, n, len(p))
		}
		if err == nil && n != len(enc(v)) {
			t.Fatalf("%s: consumed %d bytes, re-encoding has %d", what, n, len(enc(v)))
		}
		return v, err
	}
	fixedPoint(t, what, b, whole, enc)
}

func encoder[T interface{ Encode() []byte }](v T) []byte { return v.Encode() }

// storageRequestDecoders maps a storage command to a check of its request
// body decoder.
var storageRequestDecoders = map[byte]func(t *testing.T, b []byte){
	protocol.CmdUploadFile: func(t *testing.T, b []byte) {
		prefixFixedPoint(t, "upload", b, protocol.DecodeUploadRequest, encoder)
	},
	protocol.CmdUploadSlaveFile: func(t *testing.T, b []byte) {
		prefixFixedPoint(t, "upload slave", b, protocol.DecodeUploadSlaveRequest, encoder)
	},
	protocol.CmdDownloadFile: func(t *testing.T, b []byte) {
		fixedPoint(t, "download", b, protocol.DecodeDownloadRequest, encoder)
	},
	protocol.CmdDeleteFile: func(t *testing.T, b []byte) {
		fixedPoint(t, "file request", b, protocol.DecodeFileRequest, encoder)
	},
	protocol.CmdSetMetadata: func(t *testing.T, b []byte) {
		fixedPoint(t, "set metadata", b, protocol.DecodeSetMetadataRequest, encoder)
	},
	protocol.CmdAppendFile: func(t *testing.T, b []byte) {
		prefixFixedPoint(t, "append", b, protocol.DecodeAppendRequest, encoder)
	},
	protocol.CmdModifyFile: func(t *testing.T, b []byte) {
		prefixFixedPoint(t, "modify", b, protocol.DecodeModifyRequest, encoder)
	},
	protocol.CmdTruncateFile: func(t *testing.T, b []byte) {
		fixedPoint(t, "truncate", b, protocol.DecodeTruncateRequest, encoder)
	},
	protocol.CmdReportServerID: func(t *testing.T, b []byte) {
		fixedPoint(t, "report server id", b, protocol.DecodeReportServerIDRequest, encoder)
	},
	protocol.CmdSyncCreateFile: func(t *testing.T, b []byte) {
		prefixFixedPoint(t, "sync file", b, protocol.DecodeSyncFileRequest, encoder)
	},
	protocol.CmdSyncDeleteFile: func(t *testing.T, b []byte) {
		fixedPoint(t, "sync delete", b, protocol.DecodeSyncDeleteRequest, encoder)
	},
	protocol.CmdSyncAppendFile: func(t *testing.T, b []byte) {
		prefixFixedPoint(t, "sync range", b, protocol.DecodeSyncRangeRequest, encoder)
	},
	protocol.CmdSyncTruncateFile: func(t *testing.T, b []byte) {
		fixedPoint(t, "sync truncate", b, protocol.DecodeSyncTruncateRequest, encoder)
	},
	protocol.CmdSyncRenameFile: func(t *testing.T, b []byte) {
		fixedPoint(t, "sync two names", b, protocol.DecodeSyncTwoNamesRequest, encoder)
	},
	protocol.CmdRegenerateAppenderFilename: func(t *testing.T, b []byte) {
		fixedPoint(t, "regenerate", b, protocol.DecodeRegenerateRequest, encoder)
	},
	protocol.CmdFetchOnePathBinlog: func(t *testing.T, b []byte) {
		fixedPoint(t, "fetch one path binlog", b, protocol.DecodeFetchPathBinlogRequest, encoder)
	},
}

// Commands sharing a layout with one of the keys above.
var storageRequestAliases = map[byte]byte{
	protocol.CmdUploadAppenderFile: protocol.CmdUploadFile,
	protocol.CmdGetMetadata:        protocol.CmdDeleteFile,
	protocol.CmdQueryFileInfo:      protocol.CmdDeleteFile,
	protocol.CmdSyncUpdateFile:     protocol.CmdSyncCreateFile,
	protocol.CmdSyncModifyFile:     protocol.CmdSyncAppendFile,
	protocol.CmdSyncCreateLink:     protocol.CmdSyncRenameFile,
}

func storageRequestCheck(cmd byte) func(*testing.T, []byte) {
	if a, ok := storageRequestAliases[cmd]; ok {
		cmd = a
	}
	return storageRequestDecoders[cmd]
}

// FuzzStorageRequest drives the request decoder of cmd (any byte; commands
// without a storage body decoder only exercise PrefixLen) with body.
func FuzzStorageRequest(f *testing.F) {
	reqs, _ := traceSeeds(f)
	for _, s := range reqs {
		f.Add(s.cmd, s.body)
	}
	// Commands the traces may lack.
	name := "M00/00/00/wKgBZGZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZm.txt"
	f.Add(protocol.CmdRegenerateAppenderFilename, []byte(name))
	f.Add(protocol.CmdFetchOnePathBinlog, (&protocol.FetchPathBinlogRequest{Group: "group1", StorePathIndex: 1}).Encode())
	f.Add(protocol.CmdAppendFile, append((&protocol.AppendRequest{Name: name, Length: 3}).Encode(), "abc"...))
	f.Add(protocol.CmdModifyFile, (&protocol.ModifyRequest{Name: name, Offset: 1, Length: 0}).Encode())
	f.Add(protocol.CmdTruncateFile, (&protocol.TruncateRequest{Name: name, NewSize: 7}).Encode())
	f.Add(protocol.CmdUploadSlaveFile, (&protocol.UploadSlaveRequest{MasterName: name, FileSize: 0, Prefix: "_s", Ext: "jpg"}).Encode())
	f.Fuzz(func(t *testing.T, cmd byte, body []byte) {
		checkPrefixLen(t, cmd, body)
		if check := storageRequestCheck(cmd); check != nil {
			check(t, body)
		}
		checkHead(t, cmd, body)
	})
}

// storageHeadDecoders maps a streamed storage command to a check of the
// decoder of its fixed head (what a server reads before the name), and
// to the head fields the whole-prefix request decoder must agree with.
var storageHeadDecoders = map[byte]func(t *testing.T, head, body []byte){
	protocol.CmdUploadSlaveFile: func(t *testing.T, head, body []byte) {
		fixedPoint(t, "upload slave head", head, protocol.DecodeUploadSlaveHead, encoder)
		h, herr := protocol.DecodeUploadSlaveHead(head)
		r, _, rerr := protocol.DecodeUploadSlaveRequest(body)
		if rerr == nil && (herr != nil || !sameRequest(h.Request([]byte(r.MasterName)), r) || int(h.MasterLen) != len(r.MasterName)) {
			t.Fatalf("upload slave: head %+v (%v) disagrees with request %+v", h, herr, r)
		}
	},
	protocol.CmdAppendFile: func(t *testing.T, head, body []byte) {
		fixedPoint(t, "append head", head, protocol.DecodeAppendHead, encoder)
		h, herr := protocol.DecodeAppendHead(head)
		r, _, rerr := protocol.DecodeAppendRequest(body)
		if rerr == nil && (herr != nil || int(h.NameLen) != len(r.Name) || h.Length != r.Length) {
			t.Fatalf("append: head %+v (%v) disagrees with request %+v", h, herr, r)
		}
	},
	protocol.CmdModifyFile: func(t *testing.T, head, body []byte) {
		fixedPoint(t, "modify head", head, protocol.DecodeModifyHead, encoder)
		h, herr := protocol.DecodeModifyHead(head)
		r, _, rerr := protocol.DecodeModifyRequest(body)
		if rerr == nil && (herr != nil || int(h.NameLen) != len(r.Name) || h.Offset != r.Offset || h.Length != r.Length) {
			t.Fatalf("modify: head %+v (%v) disagrees with request %+v", h, herr, r)
		}
	},
	protocol.CmdTruncateFile: func(t *testing.T, head, body []byte) {
		fixedPoint(t, "truncate head", head, protocol.DecodeTruncateHead, encoder)
		h, herr := protocol.DecodeTruncateHead(head)
		r, rerr := protocol.DecodeTruncateRequest(body)
		if rerr == nil && (herr != nil || int(h.NameLen) != len(r.Name) || h.NewSize != r.NewSize) {
			t.Fatalf("truncate: head %+v (%v) disagrees with request %+v", h, herr, r)
		}
	},
}

func sameRequest[T any](a, b T) bool { return reflect.DeepEqual(a, b) }

// checkHead drives the head decoder of cmd with the first HeadLen bytes
// of body (all of body when shorter: a short head is refused).
func checkHead(t *testing.T, cmd byte, body []byte) {
	t.Helper()
	check := storageHeadDecoders[cmd]
	if check == nil {
		return
	}
	head := body
	if hl := protocol.HeadLen(cmd); len(head) > hl {
		head = head[:hl]
	}
	check(t, head, body)
}

// checkPrefixLen: a successful PrefixLen covers at least the fixed head and
// is bounded (names < 128 bytes each, metadata ≤ 1 TiB), so a streaming
// reader can trust it before allocating.
func checkPrefixLen(t *testing.T, cmd byte, body []byte) {
	t.Helper()
	hl := protocol.HeadLen(cmd)
	head := body
	if hl >= 0 && len(head) > hl {
		head = head[:hl]
	}
	n, err := protocol.PrefixLen(cmd, head)
	switch {
	case err != nil:
		checkInvalid(t, "PrefixLen", err)
	case n == -1:
	case hl < 0 || n < int64(hl) || n > int64(hl)+2*protocol.MaxStorageFilenameLn+1<<40:
		t.Fatalf("PrefixLen(%d) = %d with head length %d", cmd, n, hl)
	}
}

// FuzzStorageResponse drives the decoders of storage reply bodies.
func FuzzStorageResponse(f *testing.F) {
	_, resps := traceSeeds(f)
	for _, s := range resps {
		f.Add(s.cmd, s.body)
	}
	f.Fuzz(func(t *testing.T, cmd byte, body []byte) {
		switch cmd {
		case protocol.CmdUploadFile, protocol.CmdUploadAppenderFile, protocol.CmdUploadSlaveFile,
			protocol.CmdRegenerateAppenderFilename:
			fixedPoint(t, "file reply", body, protocol.DecodeFileResponse, encoder)
		case protocol.CmdQueryFileInfo:
			enc := func(r *protocol.FileInfoResponse) []byte { return r.Encode(len(body) - 24) }
			fixedPoint(t, "file info reply", body, protocol.DecodeFileInfoResponse, enc)
		case protocol.CmdGetMetadata:
			checkMeta(t, body)
		}
	})
}

// FuzzMeta: UnpackMeta never fails or panics, and PackMeta of its result
// unpacks to the same map and is sorted, hence stable.
func FuzzMeta(f *testing.F) {
	f.Add([]byte("author\x02fdfs\x01ext_name\x02jpg\x01file_size\x02115120\x01height\x0280\x01width\x021024"))
	f.Add([]byte("\x02\x01\x02\x02\x01"))
	f.Add(bytes.Repeat([]byte("k"), 300))
	f.Fuzz(func(t *testing.T, b []byte) { checkMeta(t, b) })
}

func checkMeta(t *testing.T, b []byte) {
	t.Helper()
	m, err := protocol.UnpackMeta(b)
	if err != nil {
		t.Fatalf("UnpackMeta(%q): %v", b, err)
	}
	for k, v := range m {
		if len(k) > protocol.MetaNameMaxLen || len(v) > protocol.MetaValueMaxLen {
			t.Fatalf("UnpackMeta(%q): record %q=%q exceeds 64/256", b, k, v)
		}
	}
	p := protocol.PackMeta(m)
	m2, err := protocol.UnpackMeta(p)
	if err != nil || !maps.Equal(m, m2) {
		t.Fatalf("PackMeta(%v) = %q unpacks as %v, %v", m, p, m2, err)
	}
	if p2 := protocol.PackMeta(m2); !bytes.Equal(p, p2) {
		t.Fatalf("PackMeta not stable: %q then %q", p, p2)
	}
}

// ipSizeFor picks the IP field size an encoder must use to reproduce a body
// of n bytes whose per-IP records are ip+8 bytes after fixed bytes, trying
// IPv4 first as the decoders do.
func ipSizeFor(n, fixed int) int {
	if n >= fixed && (n-fixed)%(protocol.IPv4AddrSize-1+8) == 0 {
		return protocol.IPv4AddrSize
	}
	return protocol.IPv6AddrSize
}

// trackerRequestCheck returns the check of the request body decoder of a
// tracker command (client→tracker and storage→tracker), nil if it has none.
func trackerRequestCheck(cmd byte) func(t *testing.T, b []byte) {
	switch cmd {
	case protocol.CmdQueryStoreWithGroupOne, protocol.CmdQueryStoreWithGroupAll,
		protocol.CmdServerListOneGroup, protocol.CmdServerDeleteGroup:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "group", b, protocol.DecodeGroup, protocol.EncodeGroup)
		}
	case protocol.CmdQueryFetchOne, protocol.CmdQueryUpdate, protocol.CmdQueryFetchAll:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "file query", b, protocol.DecodeFileQuery, encoder)
		}
	case protocol.CmdServerListStorage, protocol.CmdServerDeleteStorage, protocol.CmdServerSetTrunkServer:
		required := cmd == protocol.CmdServerDeleteStorage
		return func(t *testing.T, b []byte) {
			dec := func(p []byte) (*protocol.GroupAndID, error) { return protocol.DecodeGroupAndID(p, required) }
			fixedPoint(t, "group and id", b, dec, encoder)
		}
	case protocol.CmdServerTrackerClusterStat:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "tracker cluster filter", b, protocol.DecodeTrackerClusterFilter, encoder)
		}
	case protocol.CmdServerStorageClusterStat:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "storage cluster filter", b, protocol.DecodeStorageClusterFilter, encoder)
		}
	case protocol.CmdServerStorageVolumeStat:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "volume filter", b, protocol.DecodeVolumeFilter, encoder)
		}
	case protocol.CmdStorageGetMyIP:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "get my ip", b, protocol.DecodeGetMyIPRequest, encoder)
		}
	case protocol.CmdStorageFetchStorageIDs:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "fetch storage ids", b, protocol.DecodeFetchStorageIDsRequest, encoder)
		}
	case protocol.CmdStorageGetServerID, protocol.CmdStorageGetStatus:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "group and addr", b, protocol.DecodeGroupAndAddr, encoder)
		}
	case protocol.CmdStorageGetGroupName:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "get group name", b, protocol.DecodeGetGroupNameRequest, encoder)
		}
	case protocol.CmdStorageJoin:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "join", b, protocol.DecodeJoinRequest, encoder)
		}
	case protocol.CmdStorageBeat:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "stat block", b, protocol.DecodeStatBlock, encoder)
		}
	case protocol.CmdStorageReportDiskUsage:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "disk usage", b, protocol.DecodeDiskUsage, protocol.EncodeDiskUsage)
		}
	case protocol.CmdStorageSyncReport:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "sync report", b, protocol.DecodeSyncReport, protocol.EncodeSyncReport)
		}
	case protocol.CmdStorageSyncNotify:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "sync notify", b, protocol.DecodeSyncSource, protocol.EncodeSyncSource)
		}
	case protocol.CmdStorageSyncSrcReq:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "sync src request", b, protocol.DecodeSyncSrcRequest, encoder)
		}
	case protocol.CmdStorageReportStatus:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "report status", b, protocol.DecodeReportStatus, encoder)
		}
	case protocol.CmdStorageReplicaChg:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "briefs", b, protocol.DecodeBriefs, protocol.EncodeBriefs)
		}
	case protocol.CmdTrackerNotifyNextLeader, protocol.CmdTrackerCommitNextLeader:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "leader addr", b, protocol.DecodeLeaderAddr, protocol.EncodeLeaderAddr)
		}
	case protocol.CmdTrackerJoinLeader:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "join leader", b, protocol.DecodeJoinLeaderRequest, encoder)
		}
	case protocol.CmdTrackerPingLeader:
		return func(t *testing.T, b []byte) {
			enc := func(r *protocol.PingLeaderRequest) []byte {
				if r == nil {
					return nil
				}
				return r.Encode()
			}
			fixedPoint(t, "ping leader", b, protocol.DecodePingLeaderRequest, enc)
		}
	case protocol.CmdTrackerGetOneSysFile:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "sys file request", b, protocol.DecodeSysFileRequest, encoder)
		}
	case protocol.CmdStorageChangeStatus:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "status change", b, protocol.DecodeStatusChangeRequest, encoder)
		}
	case protocol.CmdStorageChangelogReq:
		return func(t *testing.T, b []byte) {
			enc := func(r *protocol.ChangelogRequest) []byte {
				if r == nil {
					return nil
				}
				return r.Encode()
			}
			fixedPoint(t, "changelog request", b, protocol.DecodeChangelogRequest, enc)
		}
	case protocol.CmdStorageReportIPChanged:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "ip changed report", b, protocol.DecodeIPChangedReport, encoder)
		}
	}
	return nil
}

// trackerResponseCheck returns the check of the reply body decoder of a
// tracker command, nil if it has none.
func trackerResponseCheck(cmd byte) func(t *testing.T, b []byte) {
	switch cmd {
	case protocol.CmdQueryStoreWithoutGroupOne, protocol.CmdQueryStoreWithGroupOne:
		return func(t *testing.T, b []byte) {
			enc := func(r *protocol.StoreReply) []byte { return r.Encode(ipSizeFor(len(b), protocol.GroupNameLen+1)) }
			fixedPoint(t, "store reply", b, protocol.DecodeStoreReply, enc)
		}
	case protocol.CmdQueryStoreWithoutGroupAll, protocol.CmdQueryStoreWithGroupAll:
		return func(t *testing.T, b []byte) {
			enc := func(r *protocol.StoreAllReply) []byte { return r.Encode(ipSizeFor(len(b), protocol.GroupNameLen+1)) }
			fixedPoint(t, "store all reply", b, protocol.DecodeStoreAllReply, enc)
		}
	case protocol.CmdQueryFetchOne, protocol.CmdQueryUpdate:
		return func(t *testing.T, b []byte) {
			enc := func(r *protocol.FetchReply) []byte { return r.Encode(ipSizeFor(len(b), protocol.GroupNameLen)) }
			fixedPoint(t, "fetch reply", b, protocol.DecodeFetchReply, enc)
		}
	case protocol.CmdQueryFetchAll:
		return func(t *testing.T, b []byte) {
			enc := func(r *protocol.FetchAllReply) []byte { return r.Encode(ipSizeFor(len(b), protocol.GroupNameLen)) }
			fixedPoint(t, "fetch all reply", b, protocol.DecodeFetchAllReply, enc)
		}
	case protocol.CmdServerListOneGroup, protocol.CmdServerListAllGroups:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "group stats", b, protocol.DecodeGroupStats, protocol.EncodeGroupStats)
		}
	case protocol.CmdServerListStorage:
		return func(t *testing.T, b []byte) {
			ipSize := protocol.IPv4AddrSize
			if len(b)%protocol.StorageStatSizeV4 != 0 {
				ipSize = protocol.IPv6AddrSize
			}
			enc := func(ss []protocol.StorageStat) []byte { return protocol.EncodeStorageStats(ss, ipSize) }
			fixedPoint(t, "storage stats", b, protocol.DecodeStorageStats, enc)
		}
	case protocol.CmdServerTrackerClusterStat:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "tracker cluster stat", b, protocol.DecodeTrackerClusterStat, protocol.EncodeTrackerClusterStat)
		}
	case protocol.CmdServerStorageClusterStat:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "storage cluster stat", b, protocol.DecodeStorageClusterStat, encoder)
		}
	case protocol.CmdServerStorageVolumeStat:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "volume stat", b, protocol.DecodeVolumeStat, encoder)
		}
	case protocol.CmdTrackerGetStatus:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "tracker status", b, protocol.DecodeTrackerStatus, encoder)
		}
	case protocol.CmdStorageJoin:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "join reply", b, protocol.DecodeJoinResponse, encoder)
		}
	case protocol.CmdStorageBeat, protocol.CmdStorageReportDiskUsage, protocol.CmdStorageSyncReport:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "change notice", b, protocol.DecodeChangeNotice, encoder)
		}
	case protocol.CmdStorageSyncDestReq, protocol.CmdStorageSyncDestQuery, protocol.CmdStorageSyncSrcReq:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "sync source", b, protocol.DecodeSyncSource, protocol.EncodeSyncSource)
		}
	case protocol.CmdStorageParameterReq:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "parameters", b, protocol.DecodeParams, protocol.Params.Encode)
		}
	case protocol.CmdStorageFetchStorageIDs:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "storage ids reply", b, protocol.DecodeStorageIDsReply, encoder)
		}
	case protocol.CmdStorageGetStatus:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "status brief", b, protocol.DecodeBriefs, protocol.EncodeBriefs)
		}
	case protocol.CmdTrackerGetOneSysFile:
		return func(t *testing.T, b []byte) {
			fixedPoint(t, "sys file chunk", b, protocol.DecodeSysFileChunk, encoder)
		}
	}
	return nil
}

// FuzzTrackerRequest drives the tracker request decoder of cmd with body.
func FuzzTrackerRequest(f *testing.F) {
	reqs, _ := traceSeeds(f)
	for _, s := range reqs {
		f.Add(s.cmd, s.body)
	}
	// Tracker peer commands the traces may lack.
	f.Add(protocol.CmdTrackerNotifyNextLeader, protocol.EncodeLeaderAddr("10.0.0.1:22122"))
	f.Add(protocol.CmdTrackerCommitNextLeader, protocol.EncodeLeaderAddr("[::1]:22122"))
	f.Add(protocol.CmdTrackerJoinLeader, (&protocol.JoinLeaderRequest{StartTime: 1700000000, Version: "6.16", Port: 22122}).Encode())
	f.Add(protocol.CmdTrackerPingLeader, (&protocol.PingLeaderRequest{MaxConnections: 256, CurrentConnections: 3, PeakConnections: 9}).Encode())
	f.Add(protocol.CmdTrackerPingLeader, []byte{})
	f.Add(protocol.CmdTrackerGetOneSysFile, (&protocol.SysFileRequest{Index: 2, Offset: 4096}).Encode())
	f.Add(protocol.CmdStorageChangeStatus, (&protocol.StatusChangeRequest{Status: protocol.StatusOnline}).Encode())
	f.Fuzz(func(t *testing.T, cmd byte, body []byte) {
		if check := trackerRequestCheck(cmd); check != nil {
			check(t, body)
		}
	})
}

// FuzzTrackerResponse drives the tracker reply decoder of cmd with body.
func FuzzTrackerResponse(f *testing.F) {
	_, resps := traceSeeds(f)
	for _, s := range resps {
		f.Add(s.cmd, s.body)
	}
	f.Add(protocol.CmdTrackerGetOneSysFile, (&protocol.SysFileChunk{FileSize: 5, Data: []byte("abc")}).Encode())
	f.Fuzz(func(t *testing.T, cmd byte, body []byte) {
		if check := trackerResponseCheck(cmd); check != nil {
			check(t, body)
		}
	})
}
