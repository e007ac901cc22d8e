// Interop drives a FastDFS cluster with fastdfs-client-java (happyfish100,
// org.csource.fastdfs) and checks every answer; tests/interop compiles it at
// test time against the client's classes and runs it against our daemons
// (and the upstream ones, as the control).
//
// Usage: java -cp <client classes>:<this class> Interop <client.conf> <ip,ip,...> <work dir> pool|nopool ip|id
// (the IPs of the storages of group1; ip or id: the storage-id mode). It prints one line per step and
// "OK <n> checks" at the end; any failed check exits with status 1.
//
// The mode must match connection_pool.enabled in the conf file. "pool"
// (the client's default) skips the two
// requests a storage refuses before reading their content (append to a
// normal file, a second slave with the same prefix): the upstream storage
// then closes the connection, and the pool would hand the dead connection to
// the next request (a client limitation, not a server difference).

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.zip.CRC32;

import org.csource.common.MyException;
import org.csource.common.NameValuePair;
import org.csource.fastdfs.ClientGlobal;
import org.csource.fastdfs.DownloadCallback;
import org.csource.fastdfs.FileInfo;
import org.csource.fastdfs.ServerInfo;
import org.csource.fastdfs.StorageClient1;
import org.csource.fastdfs.StructGroupStat;
import org.csource.fastdfs.StructStorageStat;
import org.csource.fastdfs.TrackerClient;
import org.csource.fastdfs.TrackerServer;

public class Interop {
    static final byte STATUS_ACTIVE = 7; // FDFS_STORAGE_STATUS_ACTIVE
    static final byte ENOENT = 2;
    static final byte EINVAL = 22;

    static int checks = 0;
    static boolean pooled;
    static boolean idMode;

    static void check(boolean ok, String what) {
        checks++;
        if (!ok) {
            throw new AssertionError("check failed: " + what);
        }
    }

    // gone reports whether downloading id fails with ENOENT within 10 s:
    // the tracker may send the download to a replica that the rename or
    // delete (made on the source) has not reached yet, as with the C
    // daemons (replication is asynchronous).
    static boolean gone(StorageClient1 sc, String id) throws IOException, MyException {
        for (int i = 0; i < 200; i++) {
            if (sc.download_file1(id) == null && sc.getErrorCode() == ENOENT) {
                return true;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                return false;
            }
        }
        return false;
    }

    static void step(String s) {
        System.out.println("== " + s);
    }

    static byte[] rand(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static int crc(byte[] b) {
        CRC32 c = new CRC32();
        c.update(b);
        return (int) c.getValue();
    }

    static byte[] cat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int off = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, off, p.length);
            off += p.length;
        }
        return out;
    }

    static Map<String, String> metaMap(NameValuePair[] list) {
        Map<String, String> m = new TreeMap<>();
        if (list != null) {
            for (NameValuePair p : list) {
                m.put(p.getName(), p.getValue());
            }
        }
        return m;
    }

    static void checkBytes(byte[] got, byte[] want, String what) {
        check(got != null, what + ": null (download failed)");
        check(Arrays.equals(got, want), what + ": got " + got.length + " bytes (crc " + crc(got)
                + "), want " + want.length + " (crc " + crc(want) + ")");
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: Interop <client.conf> <storage ips> <work dir> pool|nopool ip|id");
            System.exit(2);
        }
        pooled = args[3].equals("pool");
        idMode = args[4].equals("id");
        try {
            run(args[0], new HashSet<>(Arrays.asList(args[1].split(","))), new File(args[2]));
        } catch (Throwable e) {
            e.printStackTrace();
            System.out.println("FAILED after " + checks + " checks: " + e);
            System.exit(1);
        }
        System.out.println("OK " + checks + " checks");
    }

    static void run(String conf, Set<String> ips, File work) throws IOException, MyException {
        step("ClientGlobal.init (fetches the storage ids from the tracker)");
        ClientGlobal.init(conf);
        check(ClientGlobal.isG_connection_pool_enabled() == pooled, "connection_pool.enabled in " + conf);
        TrackerClient tracker = new TrackerClient();
        TrackerServer ts = tracker.getTrackerServer();
        check(ts != null, "getTrackerServer");

        step("listGroups / listStorages");
        StructGroupStat[] groups = tracker.listGroups(ts);
        check(groups != null && groups.length == 1, "one group, got " + (groups == null ? "null, errno " + tracker.getErrorCode() : groups.length));
        StructGroupStat g = groups[0];
        check(g.getGroupName().equals("group1"), "group name " + g.getGroupName());
        check(g.getStorageCount() == ips.size(), "storage count " + g.getStorageCount());
        check(g.getReadableServerCount() == ips.size(), "readable server count " + g.getReadableServerCount());
        check(g.getWritableServerCount() == ips.size(), "writable server count " + g.getWritableServerCount());
        check(g.getStorePathCount() == 1, "store path count " + g.getStorePathCount());
        check(g.getFreeMB() > 0 && g.getTotalMB() >= g.getFreeMB(), "space " + g.getFreeMB() + "/" + g.getTotalMB());
        StructStorageStat[] storages = tracker.listStorages(ts, "group1");
        check(storages != null && storages.length == ips.size(), "listStorages");
        for (StructStorageStat s : storages) {
            check(ips.contains(s.getIpAddr()), "unknown storage " + s.getIpAddr());
            check(s.getStatus() == STATUS_ACTIVE, s.getIpAddr() + " status " + s.getStatus());
            check(s.getStorePathCount() == 1, s.getIpAddr() + " store path count");
            check(s.getJoinTime().getTime() > 0 && s.getUpTime().getTime() > 0, s.getIpAddr() + " join/up time");
        }
        // by id: the IP in IP mode, the storage id in id mode
        StructStorageStat[] one = tracker.listStorages(ts, "group1", storages[0].getId());
        check(one != null && one.length == 1 && one[0].getIpAddr().equals(storages[0].getIpAddr()), "listStorages(id)");
        check(tracker.getStoreStorage(ts) != null, "getStoreStorage");
        check(tracker.getStoreStorage(ts, "group1") != null, "getStoreStorage(group1)");
        check(tracker.getStoreStorages(ts, "group1").length >= 1, "getStoreStorages(group1)");

        StorageClient1 sc = new StorageClient1(ts, null);

        step("upload with metadata, download whole, ranged and by callback");
        byte[] data = rand(1, 1_234_567);
        NameValuePair[] meta = {new NameValuePair("width", "1024"), new NameValuePair("author", "interop")};
        String id = sc.upload_file1(data, "bin", meta);
        check(id != null, "upload_file1 errno " + sc.getErrorCode());
        check(id.startsWith("group1/M00/") && id.endsWith(".bin"), "file ID " + id);
        checkBytes(sc.download_file1(id), data, "download " + id);
        checkBytes(sc.download_file1(id, 1000, 5000), Arrays.copyOfRange(data, 1000, 6000), "ranged download");
        checkBytes(sc.download_file1(id, 1_234_000, 0), Arrays.copyOfRange(data, 1_234_000, data.length), "download to the end");
        final java.io.ByteArrayOutputStream sink = new java.io.ByteArrayOutputStream();
        int rc = sc.download_file1(id, new DownloadCallback() {
            public int recv(long fileSize, byte[] buff, int bytes) {
                sink.write(buff, 0, bytes);
                return 0;
            }
        });
        check(rc == 0, "download by callback: " + rc);
        checkBytes(sink.toByteArray(), data, "download by callback");
        File local = new File(work, "java-download.bin");
        check(sc.download_file1(id, local.getPath()) == 0, "download to file");
        checkBytes(Files.readAllBytes(local.toPath()), data, "download to file");

        step("metadata get / merge / overwrite");
        Map<String, String> want = new TreeMap<>();
        want.put("width", "1024");
        want.put("author", "interop");
        check(metaMap(sc.get_metadata1(id)).equals(want), "metadata " + metaMap(sc.get_metadata1(id)));
        check(sc.set_metadata1(id, new NameValuePair[]{new NameValuePair("width", "2048"), new NameValuePair("color", "blue")},
                org.csource.fastdfs.ProtoCommon.STORAGE_SET_METADATA_FLAG_MERGE) == 0, "merge metadata");
        want.put("width", "2048");
        want.put("color", "blue");
        check(metaMap(sc.get_metadata1(id)).equals(want), "merged metadata " + metaMap(sc.get_metadata1(id)));
        check(sc.set_metadata1(id, new NameValuePair[]{new NameValuePair("only", "this")},
                org.csource.fastdfs.ProtoCommon.STORAGE_SET_METADATA_FLAG_OVERWRITE) == 0, "overwrite metadata");
        check(metaMap(sc.get_metadata1(id)).equals(Map.of("only", "this")), "overwritten metadata " + metaMap(sc.get_metadata1(id)));

        step("file info (from the storage and decoded from the ID)");
        FileInfo fi = sc.query_file_info1(id);
        check(fi != null, "query_file_info1 errno " + sc.getErrorCode());
        check(fi.getFileSize() == data.length, "info size " + fi.getFileSize());
        check((int) fi.getCrc32() == crc(data), "info crc32 " + fi.getCrc32() + " want " + crc(data));
        check(ips.contains(fi.getSourceIpAddr()), "info source ip " + fi.getSourceIpAddr());
        check(Math.abs(fi.getCreateTimestamp().getTime() - System.currentTimeMillis()) < 600_000, "info timestamp " + fi.getCreateTimestamp());
        FileInfo di = sc.get_file_info1(id);
        // (decoding a name that carries a storage id, the client leaves the IP empty)
        check(di != null && di.getFileSize() == data.length && (int) di.getCrc32() == crc(data)
                && di.getSourceIpAddr().equals(idMode ? "" : fi.getSourceIpAddr()), "get_file_info1 " + di);

        step("tracker queries for the file");
        check(tracker.getFetchStorage1(ts, id) != null, "getFetchStorage1");
        check(tracker.getUpdateStorage(ts, "group1", id.substring("group1/".length())) != null, "getUpdateStorage");
        try {
            ServerInfo[] fetch = tracker.getFetchStorages1(ts, id);
            check(fetch != null && fetch.length >= 1, "getFetchStorages1");
        } catch (IOException e) {
            // The client reads the servers after the first of a FETCH_ALL
            // reply as addresses without ports (V5's format); V6 trackers,
            // upstream's as ours, send each with its port (16 + n x 23
            // bytes), so the call fails once two storages hold the file.
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("Invalid body length: (\\d+)").matcher(String.valueOf(e.getMessage()));
            int n = m.matches() ? Integer.parseInt(m.group(1)) : -1;
            check(n > 16 + 23 && (n - 16) % 23 == 0, "getFetchStorages1: " + e);
        }

        step("upload from a local file, by callback, and an empty file");
        byte[] text = "fastdfs-client-java was here\n".getBytes("UTF-8");
        File f = new File(work, "java-upload.txt");
        Files.write(f.toPath(), text);
        String id2 = sc.upload_file1(f.getPath(), "txt", null);
        check(id2 != null && id2.endsWith(".txt"), "upload local file: " + id2 + " errno " + sc.getErrorCode());
        checkBytes(sc.download_file1(id2), text, "download " + id2);
        check(sc.get_metadata1(id2) == null || sc.get_metadata1(id2).length == 0, "no metadata on " + id2);
        final byte[] cbData = rand(7, 77_777);
        String id3 = sc.upload_file1("group1", cbData.length, out -> {
            out.write(cbData);
            return 0;
        }, "dat", null);
        check(id3 != null, "upload by callback errno " + sc.getErrorCode());
        checkBytes(sc.download_file1(id3), cbData, "download " + id3);
        String empty = sc.upload_file1(new byte[0], "", null);
        check(empty != null, "upload empty errno " + sc.getErrorCode());
        FileInfo ei = sc.query_file_info1(empty);
        check(ei != null && ei.getFileSize() == 0, "empty file info " + ei);

        step("slave file");
        byte[] thumb = rand(2, 4321);
        String slave = sc.upload_file1(id, "_thumb", thumb, "jpg", null);
        check(slave != null, "upload slave errno " + sc.getErrorCode());
        String wantSlave = id.substring(0, id.length() - ".bin".length()) + "_thumb.jpg";
        check(slave.equals(wantSlave), "slave ID " + slave + " want " + wantSlave);
        checkBytes(sc.download_file1(slave), thumb, "download slave");
        FileInfo si = sc.get_file_info1(slave);
        check(si != null && si.getFileType() == FileInfo.FILE_TYPE_SLAVE && si.getFileSize() == thumb.length
                && (int) si.getCrc32() == crc(thumb), "slave info " + si);
        if (!pooled) {
            String again = sc.upload_file1(id, "_thumb", thumb, "jpg", null);
            check(again == null && sc.getErrorCode() == 17, "second slave with the same prefix: " + again + " errno " + sc.getErrorCode());
        }

        step("appender: upload, append, modify, truncate, info, regenerate");
        byte[] p1 = rand(3, 100_000), p2 = rand(4, 50_000), p3 = rand(5, 10_000);
        String aid = sc.upload_appender_file1(p1, "log", null);
        check(aid != null, "upload appender errno " + sc.getErrorCode());
        check(sc.append_file1(aid, p2) == 0, "append errno " + sc.getErrorCode());
        byte[] cur = cat(p1, p2);
        checkBytes(sc.download_file1(aid), cur, "after append");
        check(sc.modify_file1(aid, 90_000, p3) == 0, "modify errno " + sc.getErrorCode());
        System.arraycopy(p3, 0, cur, 90_000, p3.length);
        checkBytes(sc.download_file1(aid), cur, "after modify");
        check(sc.modify_file1(aid, cur.length, p3) == 0, "modify at the end errno " + sc.getErrorCode());
        cur = cat(cur, p3);
        checkBytes(sc.download_file1(aid), cur, "after modify at the end");
        check(sc.truncate_file1(aid, 120_000) == 0, "truncate errno " + sc.getErrorCode());
        cur = Arrays.copyOf(cur, 120_000);
        checkBytes(sc.download_file1(aid), cur, "after truncate");
        FileInfo ai = sc.query_file_info1(aid);
        check(ai != null && ai.getFileSize() == cur.length, "appender info size " + (ai == null ? "null" : ai.getFileSize()));
        FileInfo ag = sc.get_file_info1(aid); // query_file_info1 leaves the type unset
        check(ag != null && ag.getFileType() == FileInfo.FILE_TYPE_APPENDER && ag.getFileSize() == cur.length,
                "get_file_info1 of the appender " + ag);
        check((int) ai.getCrc32() == crc(cur), "appender info crc32 " + ai.getCrc32() + " want " + crc(cur));
        check(sc.truncate_file1(aid) == 0, "truncate to 0 errno " + sc.getErrorCode());
        check(sc.append_file1(aid, cur) == 0, "append after truncate errno " + sc.getErrorCode());
        checkBytes(sc.download_file1(aid), cur, "after truncate 0 + append");
        if (!pooled) {
            check(sc.append_file1(id, p3) != 0 && sc.getErrorCode() == EINVAL, "append to a normal file: errno " + sc.getErrorCode());
        }
        String nid = sc.regenerate_appender_filename1(aid);
        check(nid != null && !nid.equals(aid) && nid.endsWith(".log"), "regenerate: " + nid + " errno " + sc.getErrorCode());
        checkBytes(sc.download_file1(nid), cur, "download regenerated");
        check(gone(sc, aid), "old appender name gone: errno " + sc.getErrorCode());
        FileInfo ni = sc.get_file_info1(nid);
        check(ni != null && ni.getFileType() == FileInfo.FILE_TYPE_NORMAL && ni.getFileSize() == cur.length
                && (int) ni.getCrc32() == crc(cur), "regenerated info " + ni);

        step("delete");
        for (String d : new String[]{slave, id, id2, id3, empty, nid}) {
            check(sc.delete_file1(d) == 0, "delete " + d + " errno " + sc.getErrorCode());
        }
        check(gone(sc, id), "download deleted: errno " + sc.getErrorCode());
        check(sc.get_metadata1(id) == null && sc.getErrorCode() == ENOENT, "metadata of deleted: errno " + sc.getErrorCode());
        check(sc.delete_file1(id) == ENOENT, "delete deleted: errno " + sc.getErrorCode());
        check(sc.query_file_info1(nid) == null && sc.getErrorCode() == ENOENT, "info of deleted: errno " + sc.getErrorCode());
    }
}
