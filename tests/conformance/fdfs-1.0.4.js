// Conformance of the npm client fdfs@1.0.4 (github.com/ymyang/fdfs) against
// a running cluster: node fdfs-1.0.4.js <tracker host:port>.
//
// Client quirks that shape this script:
//   - every request opens a new connection and ends it with QUIT;
//   - getFileInfo/getMetaData route through QUERY_UPDATE (103), download
//     through QUERY_FETCH_ONE (102);
//   - append/modify are sent to the storage the tracker picks for an upload
//     into the file's group (104), so the cluster must have one storage per
//     group for them to reach the file's owner;
//   - listGroups/listStorages parse pre-V6 record sizes (105/600 bytes) and
//     cannot work against a 6.16 tracker, so they are not exercised;
//   - getMetaData of a file with an empty meta list mis-parses the reply,
//     so metadata is only read back when non-empty.
'use strict';

const FdfsClient = require('fdfs');
const lib = require('./lib.js');

const logger = new lib.Logger();
const tracker = lib.trackerFromArgs();
const fdfs = new FdfsClient({ trackers: [tracker], timeout: 20000, logger });
const start = Math.floor(Date.now() / 1000);

const small = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
const big = lib.randomBytes(3 * 1024 * 1024 + 17);
const ids = {};

function checkTime(ts, what) {
  const now = Math.floor(Date.now() / 1000);
  if (ts < start - 2 || ts > now + 2) {
    lib.fail(what + ': timestamp ' + ts + ' outside [' + (start - 2) + ', ' + (now + 2) + ']');
  }
}

async function download(id, opts) {
  const sink = new lib.Sink();
  await fdfs.download(id, Object.assign({ target: sink }, opts || {}));
  return sink.bytes();
}

async function checkInfo(id, content) {
  const info = await fdfs.getFileInfo(id);
  const f = lib.parseFileID(id);
  lib.assertEq(info.size, content.length, id + ' info size');
  lib.assertEq(info.crc32, lib.signed32(lib.crc32(content)), id + ' info crc32');
  checkTime(info.timestamp, id + ' info');
  if (f.sourceIP.split('.')[3] !== '0') {
    lib.assertEq(info.addr, f.sourceIP, id + ' info source addr');
  }
}

lib.run('fdfs@1.0.4', logger, [
  ['upload small buffer', async () => {
    ids.small = await fdfs.upload(small, { ext: 'txt' });
    const f = lib.checkNormalName(ids.small, small, 'txt');
    checkTime(f.timestamp, ids.small + ' name');
  }],
  ['download full', async () => {
    lib.assertBytes(await download(ids.small), small, 'full download');
  }],
  ['download range offset 5 bytes 10', async () => {
    lib.assertBytes(await download(ids.small, { offset: 5, bytes: 10 }), small.subarray(5, 15), 'range download');
  }],
  ['download from offset to EOF', async () => {
    lib.assertBytes(await download(ids.small, { offset: 20 }), small.subarray(20), 'tail download');
  }],
  ['download range clipped at EOF', async () => {
    lib.assertBytes(await download(ids.small, { offset: 30, bytes: 100 }), small.subarray(30), 'clipped download');
  }],
  ['file info', async () => {
    await checkInfo(ids.small, small);
  }],
  ['upload without ext', async () => {
    const data = Buffer.from('no extension here');
    ids.noext = await fdfs.upload(data);
    lib.checkNormalName(ids.noext, data, '');
    lib.assertBytes(await download(ids.noext), data, 'no-ext download');
  }],
  ['upload 3 MiB from a stream', async () => {
    ids.big = await fdfs.upload(lib.streamOf(big, 64 * 1024), { size: big.length, ext: 'bin' });
    lib.checkNormalName(ids.big, big, 'bin');
    lib.assertBytes(await download(ids.big), big, 'big download');
    const off = 1024 * 1024 + 3;
    lib.assertBytes(await download(ids.big, { offset: off, bytes: 70000 }), big.subarray(off, off + 70000), 'big range');
    await checkInfo(ids.big, big);
  }],
  ['upload into named group', async () => {
    const group = lib.parseFileID(ids.small).group;
    const data = Buffer.from('group pinned');
    const id = await fdfs.upload(data, { group, ext: 'dat' });
    lib.assertEq(lib.parseFileID(id).group, group, 'group of pinned upload');
    lib.assertBytes(await download(id), data, 'pinned download');
    await fdfs.del(id);
  }],
  ['upload with a 6-char ext containing a dot', async () => {
    const data = Buffer.from('archive bytes');
    const id = await fdfs.upload(data, { ext: 'tar.gz' });
    lib.checkNormalName(id, data, 'tar.gz');
    lib.assertBytes(await download(id), data, 'tar.gz download');
    await fdfs.del(id);
  }],
  ['upload into an unknown group is ENOENT', async () => {
    await lib.expectError(() => fdfs.upload(Buffer.from('x'), { group: 'nosuchgroup', ext: 'txt' }),
      'upload to unknown group', lib.expectErrno(2));
  }],
  ['metadata overwrite', async () => {
    await fdfs.setMetaData(ids.small, { width: '1024', author: 'fdfs', ext_name: 'txt' });
    lib.assertMeta(await fdfs.getMetaData(ids.small), { author: 'fdfs', ext_name: 'txt', width: '1024' }, 'meta after O');
  }],
  ['metadata merge', async () => {
    await fdfs.setMetaData(ids.small, { height: '80', author: 'merged' }, 'M');
    lib.assertMeta(await fdfs.getMetaData(ids.small),
      { author: 'merged', ext_name: 'txt', height: '80', width: '1024' }, 'meta after M');
  }],
  ['metadata with UTF-8 values', async () => {
    await fdfs.setMetaData(ids.small, { title: 'FastDFS 文件 ✓', 'clé': 'valeur' }, 'M');
    lib.assertMeta(await fdfs.getMetaData(ids.small),
      { author: 'merged', 'clé': 'valeur', ext_name: 'txt', height: '80', title: 'FastDFS 文件 ✓', width: '1024' },
      'meta after UTF-8 merge');
  }],
  ['metadata overwrite replaces all', async () => {
    await fdfs.setMetaData(ids.small, { only: 'one' }, 'O');
    lib.assertMeta(await fdfs.getMetaData(ids.small), { only: 'one' }, 'meta after second O');
  }],
  ['metadata of a file without meta is ENOENT', async () => {
    await lib.expectError(() => fdfs.getMetaData(ids.noext), 'get meta without meta file', lib.expectErrno(2));
  }],
  ['appender upload', async () => {
    ids.appInit = Buffer.from('appender-start|');
    ids.app = await fdfs.upload(ids.appInit, { method: 'uploadAppender', ext: 'log' });
    lib.checkAppenderName(ids.app, ids.appInit, 'log');
    lib.assertBytes(await download(ids.app), ids.appInit, 'appender download');
  }],
  ['append', async () => {
    const more = Buffer.from('appended-bytes|');
    await fdfs.upload(more, { method: 'append', fileId: ids.app });
    ids.appContent = Buffer.concat([ids.appInit, more]);
    lib.assertBytes(await download(ids.app), ids.appContent, 'after append');
  }],
  ['append a 1 MiB stream', async () => {
    const more = lib.randomBytes(1024 * 1024);
    await fdfs.upload(lib.streamOf(more, 32 * 1024), { method: 'append', fileId: ids.app, size: more.length });
    ids.appContent = Buffer.concat([ids.appContent, more]);
    lib.assertBytes(await download(ids.app), ids.appContent, 'after big append');
  }],
  ['modify in place', async () => {
    const patch = Buffer.from('PATCHED');
    await fdfs.upload(patch, { method: 'modify', fileId: ids.app, offset: 3 });
    const want = Buffer.from(ids.appContent);
    patch.copy(want, 3);
    ids.appContent = want;
    lib.assertBytes(await download(ids.app), ids.appContent, 'after modify');
  }],
  ['modify extending the file', async () => {
    const patch = Buffer.from('TAIL-EXTENSION');
    const off = ids.appContent.length - 4;
    await fdfs.upload(patch, { method: 'modify', fileId: ids.app, offset: off });
    ids.appContent = Buffer.concat([ids.appContent.subarray(0, off), patch]);
    lib.assertBytes(await download(ids.app), ids.appContent, 'after extending modify');
  }],
  ['modify beyond the end is EINVAL', async () => {
    await lib.expectError(
      () => fdfs.upload(Buffer.from('x'), { method: 'modify', fileId: ids.app, offset: ids.appContent.length + 10 }),
      'modify past EOF', lib.expectErrno(22));
  }],
  ['append to a normal file is EINVAL', async () => {
    await lib.expectError(() => fdfs.upload(Buffer.from('x'), { method: 'append', fileId: ids.small }),
      'append to normal file', lib.expectErrno(22));
  }],
  ['appender file info recomputes crc', async () => {
    await checkInfo(ids.app, ids.appContent);
  }],
  ['delete', async () => {
    for (const k of ['small', 'noext', 'big', 'app']) {
      await fdfs.del(ids[k]);
    }
  }],
  ['deleted file: download, info, delete are ENOENT', async () => {
    await lib.expectError(() => download(ids.small), 'download deleted', lib.expectErrno(2));
    await lib.expectError(() => fdfs.getFileInfo(ids.app), 'info of deleted', lib.expectErrno(2));
    await lib.expectError(() => fdfs.del(ids.big), 'delete twice', lib.expectErrno(2));
  }],
]);
