// JavaUploadBench: fastdfs-client-java uploading small files one after
// another on one thread, the way a Java web application stores its
// uploads; prints "java uploads=N seconds=S rate=R/s". Used by
// scripts/bench-upstream.sh; compiled there against the client's classes.
//
// usage: java -cp CLASSES:. JavaUploadBench CLIENT_CONF COUNT SIZE
import org.csource.fastdfs.ClientGlobal;
import org.csource.fastdfs.StorageClient1;

public class JavaUploadBench {
    public static void main(String[] args) throws Exception {
        ClientGlobal.init(args[0]);
        int count = Integer.parseInt(args[1]);
        byte[] content = new byte[Integer.parseInt(args[2])];
        new java.util.Random(1).nextBytes(content);
        StorageClient1 client = new StorageClient1();
        // Warm up the connection pool and the JIT before the clock starts.
        for (int i = 0; i < 100; i++) {
            upload(client, content);
        }
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) {
            upload(client, content);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("java uploads=%d seconds=%.3f rate=%.0f/s%n", count, seconds, count / seconds);
    }

    private static void upload(StorageClient1 client, byte[] content) throws Exception {
        String id = client.upload_file1(content, "bin", null);
        if (id == null) {
            throw new IllegalStateException("upload failed, error code " + client.getErrorCode());
        }
    }
}
