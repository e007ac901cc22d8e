// Uploads a file through the gateway's tus endpoint with tus-js-client, as
// any tus application would: the upload URL is remembered in a file
// (FileUrlStorage) under the file's fingerprint, so a new process uploading
// the same file finds it and resumes from the server's offset.
//
// usage: node tus-upload.js <endpoint> <file> <url store> <api key>
// Prints "PROGRESS <bytes sent by this process> <total>" lines and finally
// "DONE {json}" with the upload URL, the file ID, the offset this process
// resumed from (-1 for a new upload) and the bytes it sent.
'use strict';

const fs = require('node:fs');
const tus = require('tus-js-client');

const [endpoint, file, store, key] = process.argv.slice(2);
if (!key) {
  console.error('usage: node tus-upload.js <endpoint> <file> <url store> <api key>');
  process.exit(2);
}
const data = fs.readFileSync(file);
let resumedAt = -1;
let fileId = '';
let sent = 0;
const upload = new tus.Upload(data, {
  endpoint,
  urlStorage: new tus.FileUrlStorage(store),
  headers: { Authorization: 'Bearer ' + key },
  metadata: { filename: 'big.bin', filetype: 'application/octet-stream' },
  // A 409 (the offset moved under an interrupted write) is retried: the
  // client asks for the offset again.
  retryDelays: [0, 200, 500, 1000, 2000],
  removeFingerprintOnSuccess: false,
  onAfterResponse(req, res) {
    if (req.getMethod() === 'HEAD' && resumedAt < 0) {
      resumedAt = Number(res.getHeader('Upload-Offset'));
    }
    const id = res.getHeader('Fdfs-File-Id');
    if (id) {
      fileId = id;
    }
  },
  onProgress(bytes, total) {
    sent = bytes - Math.max(resumedAt, 0);
    console.log('PROGRESS ' + sent + ' ' + total);
  },
  onSuccess() {
    console.log('DONE ' + JSON.stringify({ url: upload.url, fileId, resumedAt, sent }));
  },
  onError(err) {
    console.error('FAIL ' + err);
    process.exit(1);
  },
});
upload.findPreviousUploads().then((previous) => {
  if (previous.length > 0) {
    upload.resumeFromPreviousUpload(previous[0]);
  }
  upload.start();
}, (err) => {
  console.error('FAIL ' + err);
  process.exit(1);
});
