// A Node.js client of the fastdfs.v1 gRPC API (docs/clients.md), with
// @grpc/grpc-js and @grpc/proto-loader from npm and no generated code: it
// uploads a file, downloads it, reads its metadata and info, deletes it, and
// decodes the google.rpc.ErrorInfo of the NOT_FOUND that follows.
//
//   FDFS_GRPC_ADDR   host:port of the gateway's gRPC listener (default 127.0.0.1:9090)
//   FDFS_API_KEY     API key, sent as "authorization: Bearer KEY" (optional)
//   FDFS_PROTO_MODE  "files" (default): load proto/fastdfs/v1/*.proto with the vendored
//                    googleapis (proto/third_party/googleapis);
//                    "descriptor": load gen/descriptor/fastdfs-v1.binpb. protobufjs then
//                    sees map fields as what they are on the wire, repeated
//                    {key, value} entries (it does not rebuild maps from descriptors):
//                    toMap/fromMap below convert.
//
// Prints one JSON line describing what it did; exits 1 on any mismatch.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');
require('protobufjs/ext/descriptor');

const repo = path.resolve(__dirname, '..', '..');
const descriptorFile = path.join(repo, 'gen', 'descriptor', 'fastdfs-v1.binpb');
// keepCase: fields keep their .proto names (file_id) in both modes, as the
// descriptor set gives them.
const options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

// Both the services and the error details come from the same definitions.
function load(mode) {
  if (mode === 'files') {
    const includeDirs = [path.join(repo, 'proto'), path.join(repo, 'proto', 'third_party', 'googleapis')];
    const files = ['fastdfs/v1/file_service.proto', 'fastdfs/v1/cluster_service.proto',
      'google/rpc/status.proto', 'google/rpc/error_details.proto'];
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => {
      for (const dir of includeDirs) {
        const p = path.join(dir, target);
        if (fs.existsSync(p)) return p;
      }
      return target; // google/protobuf/*.proto: protobufjs has them built in
    };
    root.loadSync(files, { keepCase: true });
    return { def: protoLoader.loadSync(files, { ...options, includeDirs }), root };
  }
  const set = fs.readFileSync(descriptorFile);
  return {
    def: protoLoader.loadFileDescriptorSetFromBuffer(set, options),
    root: protobuf.Root.fromDescriptor(set),
  };
}

// errorInfo decodes the google.rpc.Status in the grpc-status-details-bin
// trailer of err and returns its google.rpc.ErrorInfo.
function errorInfo(root, err, mode) {
  const bin = err.metadata && err.metadata.get('grpc-status-details-bin')[0];
  if (!bin) return null;
  const status = root.lookupType('google.rpc.Status').decode(bin);
  const ErrorInfo = root.lookupType('google.rpc.ErrorInfo');
  for (const any of status.details) {
    if (any.type_url === 'type.googleapis.com/google.rpc.ErrorInfo') {
      const info = ErrorInfo.toObject(ErrorInfo.decode(any.value), { defaults: true });
      return { ...info, metadata: toMap(mode, info.metadata) };
    }
  }
  return null;
}

// fromMap and toMap convert a JS object to and from the form of a map field.
function fromMap(mode, obj) {
  return mode === 'descriptor' ? Object.entries(obj).map(([key, value]) => ({ key, value })) : obj;
}
function toMap(mode, m) {
  return mode === 'descriptor' ? Object.fromEntries(m.map((e) => [e.key, e.value])) : m;
}

function unary(client, method, req, md) {
  return new Promise((resolve, reject) => client[method](req, md, (err, resp) => (err ? reject(err) : resolve(resp))));
}

function upload(client, md, content, metadata) { // metadata: in the loaded form
  return new Promise((resolve, reject) => {
    const call = client.UploadFile(md, (err, resp) => (err ? reject(err) : resolve(resp)));
    call.write({ spec: { ext: 'txt', size: String(content.length), metadata } });
    for (let off = 0; off < content.length; off += 1 << 20) {
      call.write({ chunk: content.subarray(off, off + (1 << 20)) });
    }
    call.end();
  });
}

function download(client, md, fileId) {
  return new Promise((resolve, reject) => {
    const parts = [];
    const call = client.DownloadFile({ file_id: fileId }, md);
    call.on('data', (m) => parts.push(m.chunk));
    call.on('error', reject);
    call.on('end', () => resolve(Buffer.concat(parts)));
  });
}

async function main() {
  const mode = process.env.FDFS_PROTO_MODE || 'files';
  const { def, root } = load(mode);
  const api = grpc.loadPackageDefinition(def).fastdfs.v1;
  const files = new api.FileService(process.env.FDFS_GRPC_ADDR || '127.0.0.1:9090', grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  if (process.env.FDFS_API_KEY) md.set('authorization', 'Bearer ' + process.env.FDFS_API_KEY);

  const content = Buffer.from('hello from node, '.repeat(100000)); // 1.7 MB: two chunks
  const up = await upload(files, md, content, fromMap(mode, { lang: 'node' }));
  const got = await download(files, md, up.file_id);
  const meta = await unary(files, 'GetMetadata', { file_id: up.file_id }, md);
  const metadata = toMap(mode, meta.metadata);
  const info = await unary(files, 'GetFileInfo', { file_id: up.file_id }, md);
  await unary(files, 'DeleteFile', { file_id: up.file_id }, md);
  let notFound = null;
  try {
    await unary(files, 'GetFileInfo', { file_id: up.file_id }, md);
  } catch (err) {
    notFound = { code: grpc.status[err.code], errorInfo: errorInfo(root, err, mode) };
  }
  files.close();

  const result = {
    mode, fileId: up.file_id, size: up.size, downloadedEqual: got.equals(content),
    metadata, infoSize: info.file.size, kind: info.file.kind, notFound,
  };
  console.log(JSON.stringify(result));
  const ok = result.downloadedEqual && up.size === String(content.length) && metadata.lang === 'node' &&
    info.file.size === String(content.length) && notFound && notFound.code === 'NOT_FOUND' &&
    notFound.errorInfo && notFound.errorInfo.domain === 'fastdfs.v1' && notFound.errorInfo.reason === 'FILE_NOT_FOUND' &&
    notFound.errorInfo.metadata.file_id === up.file_id;
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
