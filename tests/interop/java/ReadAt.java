// ReadAt downloads one file with fastdfs-client-java from the storage it is
// given (StorageClient1 with a StorageServer: no tracker query), as an
// application that keeps a storage's address does.
//
// Usage: java -cp <client classes>:<this class> ReadAt <client.conf> <storage ip> <port> <file id> <out file>
// It prints "OK <bytes>" (the file written to <out file>) or "ERR <status>".

import java.nio.file.Files;
import java.nio.file.Paths;

import org.csource.fastdfs.ClientGlobal;
import org.csource.fastdfs.StorageClient1;
import org.csource.fastdfs.StorageServer;

public class ReadAt {
    public static void main(String[] args) throws Exception {
        ClientGlobal.init(args[0]);
        StorageServer storage = new StorageServer(args[1], Integer.parseInt(args[2]), 0);
        StorageClient1 sc = new StorageClient1(null, storage);
        byte[] b = sc.download_file1(args[3]);
        if (b == null) {
            System.out.println("ERR " + sc.getErrorCode());
            return;
        }
        Files.write(Paths.get(args[4]), b);
        System.out.println("OK " + b.length);
    }
}
