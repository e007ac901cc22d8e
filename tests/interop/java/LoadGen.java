// LoadGen is a steady client load of fastdfs-client-java (org.csource.fastdfs):
// one thread uploading 5 KB files, reading each back and deleting every
// fourth, one after another, until the file "stop" appears in the working
// directory. tests/interop compiles it at test time against the client's
// classes and keeps it running while daemons are replaced.
//
// Usage: java -cp <client classes>:<this class> LoadGen <client.conf> <work dir>
// It prints "FAIL <op> <detail>" for every failed operation, writes the
// files it leaves behind to <work dir>/kept.txt ("<file id> <seed>" lines)
// and ends with "ok=<n> failed=<n>".

import java.io.File;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Random;

import org.csource.fastdfs.ClientGlobal;
import org.csource.fastdfs.StorageClient1;

public class LoadGen {
    public static void main(String[] args) throws Exception {
        ClientGlobal.init(args[0]);
        File dir = new File(args[1]);
        File stop = new File(dir, "stop");
        int ok = 0, failed = 0;
        try (PrintWriter kept = new PrintWriter(new File(dir, "kept.txt"))) {
            for (long seed = 1; !stop.exists(); seed++) {
                byte[] data = new byte[5120];
                new Random(seed).nextBytes(data);
                StorageClient1 client = new StorageClient1();
                String op = "upload";
                try {
                    String id = client.upload_file1(data, "bin", null);
                    if (id == null) {
                        throw new IllegalStateException("error code " + client.getErrorCode());
                    }
                    op = "download " + id;
                    byte[] got = client.download_file1(id);
                    if (got == null || !Arrays.equals(got, data)) {
                        throw new IllegalStateException(got == null ? "error code " + client.getErrorCode() : "wrong bytes");
                    }
                    if (seed % 4 == 0) {
                        op = "delete " + id;
                        int r = client.delete_file1(id);
                        if (r != 0) {
                            throw new IllegalStateException("error code " + r);
                        }
                    } else {
                        kept.println(id + " " + seed);
                    }
                    ok++;
                } catch (Exception e) {
                    failed++;
                    System.out.println("FAIL " + op + " " + e + " at " + java.time.Instant.now());
                }
            }
        }
        System.out.println("ok=" + ok + " failed=" + failed);
    }
}
