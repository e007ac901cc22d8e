// Conformance of the npm client fdfs-client@0.5.4 (chenboxiang) against a
// running cluster: node fdfs-client-0.5.4.js <tracker host:port>.
//
// The client supports upload (UPLOAD_FILE only), download (full and range),
// delete, set/get metadata and file info, each on a fresh connection ended
// by QUIT. It decodes the file-info crc32 as an unsigned 64-bit number (so a
// sign-extended crc arrives as ~1.8e19, rounded to a double) and reports
// errors only as "receive packet errno is: N".
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const FdfsClient = require('fdfs-client');
const lib = require('./lib.js');

const logger = new lib.Logger();
const tracker = lib.trackerFromArgs();
const client = new FdfsClient({ trackers: [tracker], timeout: 20000, logger });
client.on('error', (err) => {
  process.stdout.write('FAIL client error event: ' + err + '\n');
  logger.dump();
  process.exit(1);
});
const start = Math.floor(Date.now() / 1000);
// FDFS_STORAGES is the number of storages in the group (default 1).
const storages = Number(process.env.FDFS_STORAGES || 1);

// call adapts the client's callback API to promises.
function call(method) {
  const args = Array.prototype.slice.call(arguments, 1);
  return new Promise((resolve, reject) => {
    client[method].apply(client, args.concat([(err, res) => (err ? reject(err) : resolve(res))]));
  });
}

async function download(id, opts) {
  const sink = new lib.Sink();
  await call('download', id, Object.assign({ target: sink }, opts || {}));
  // The client calls back right after its last target.write without ending
  // the stream; let pending writes drain first.
  await new Promise((resolve) => setImmediate(resolve));
  return sink.bytes();
}

// The crc32 field is a sign-extended int64 read as unsigned and converted to
// a double; compute the same double from the expected crc.
function wireCRC(crc) {
  return Number(BigInt.asUintN(64, BigInt(lib.signed32(crc))));
}

const content = Buffer.from('fdfs-client conformance payload 0123456789');
const big = lib.randomBytes(2 * 1024 * 1024 + 5);
const ids = {};
let tmpDir;

lib.run('fdfs-client@0.5.4', logger, [
  ['upload buffer', async () => {
    ids.small = await call('upload', content, { ext: 'txt' });
    const f = lib.checkNormalName(ids.small, content, 'txt');
    const now = Math.floor(Date.now() / 1000);
    if (f.timestamp < start - 2 || f.timestamp > now + 2) {
      lib.fail('name timestamp ' + f.timestamp + ' not near now');
    }
  }],
  ['download full', async () => {
    lib.assertBytes(await download(ids.small), content, 'full download');
  }],
  ['download range', async () => {
    lib.assertBytes(await download(ids.small, { offset: 7, bytes: 6 }), content.subarray(7, 13), 'range download');
  }],
  ['download tail', async () => {
    lib.assertBytes(await download(ids.small, { offset: 32 }), content.subarray(32), 'tail download');
  }],
  ['file info', async () => {
    const info = await call('getFileInfo', ids.small);
    lib.assertEq(info.size, String(content.length), 'info size');
    lib.assertEq(info.crc32, wireCRC(lib.crc32(content)), 'info crc32');
    const f = lib.parseFileID(ids.small);
    if (f.sourceIP.split('.')[3] !== '0') {
      lib.assertEq(info.addr, f.sourceIP, 'info source addr');
    }
    if (Math.abs(info.timestamp - f.timestamp) > 1) {
      lib.fail('info timestamp ' + info.timestamp + ' far from name timestamp ' + f.timestamp);
    }
  }],
  ['upload from a file path', async () => {
    tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdfs-conf-'));
    const p = path.join(tmpDir, 'payload.jpeg');
    fs.writeFileSync(p, big);
    ids.file = await call('upload', p);
    lib.checkNormalName(ids.file, big, 'jpeg');
    lib.assertBytes(await download(ids.file), big, 'file-path download');
    const off = 1500000;
    lib.assertBytes(await download(ids.file, { offset: off, bytes: 4096 }), big.subarray(off, off + 4096), 'big range');
  }],
  ['upload from a stream', async () => {
    const data = lib.randomBytes(300000);
    ids.stream = await call('upload', lib.streamOf(data, 8192), { size: data.length, ext: 'gz' });
    lib.checkNormalName(ids.stream, data, 'gz');
    lib.assertBytes(await download(ids.stream), data, 'stream download');
  }],
  ['upload into an unknown group is ENOENT', async () => {
    await lib.expectError(() => call('upload', Buffer.from('x'), { group: 'nosuchgroup', ext: 'txt' }),
      'upload to unknown group', lib.expectErrno(2));
  }],
  ['metadata set/get', async () => {
    await call('setMetaData', ids.small, { author: 'chen', width: '80' });
    lib.assertMeta(await call('getMetaData', ids.small), { author: 'chen', width: '80' }, 'meta after set');
  }],
  ['metadata merge', async () => {
    await call('setMetaData', ids.small, { width: '90', color: 'red' }, 'M');
    lib.assertMeta(await call('getMetaData', ids.small), { author: 'chen', color: 'red', width: '90' }, 'meta after merge');
  }],
  ['metadata overwrite', async () => {
    await call('setMetaData', ids.small, { k: 'v' }, 'O');
    lib.assertMeta(await call('getMetaData', ids.small), { k: 'v' }, 'meta after overwrite');
  }],
  ['delete', async () => {
    for (const k of ['small', 'file', 'stream']) {
      await call('del', ids[k]);
    }
  }],
  ['deleted file is ENOENT', async () => {
    await lib.expectError(() => call('getFileInfo', ids.small), 'info of deleted', lib.expectErrno(2));
    // With replicas the tracker may route the download to a peer that has
    // not replayed the delete yet, so only a lone storage must say ENOENT.
    if (storages === 1) {
      await lib.expectError(() => download(ids.file), 'download deleted', lib.expectErrno(2));
    }
    await lib.expectError(() => call('del', ids.stream), 'delete twice', lib.expectErrno(2));
  }],
  ['cleanup', async () => {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }],
]);
