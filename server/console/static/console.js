// fdfs console: everything goes through the public REST API (/v1/...)
// with the API key typed by the user, sent as X-API-Key.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem("fdfs-key") || "", timer: 0 };
const refreshMs = 2000; // cluster map refresh period

// fileURL builds /v1/files/<id><suffix>, escaping each segment of the ID.
function fileURL(id, suffix) {
  return "/v1/files/" + id.split("/").map(encodeURIComponent).join("/") + (suffix || "");
}

function showError(msg) {
  const e = $("error");
  e.textContent = msg;
  e.hidden = !msg;
}

// api calls the REST API and returns the parsed JSON body, or throws an
// Error with the API's message (google.rpc.Status).
async function api(path, opts) {
  const o = Object.assign({ headers: {} }, opts);
  o.headers["X-API-Key"] = state.key;
  const resp = await fetch(path, o);
  if (!resp.ok) {
    let msg = resp.status + " " + resp.statusText;
    try { const b = await resp.json(); if (b.message) msg += ": " + b.message; } catch (_) { /* not JSON */ }
    throw new Error(path + ": " + msg);
  }
  return resp;
}

const statusName = (s) => String(s || "").replace(/^STORAGE_STATUS_/, "");
const seconds = (ts) => (ts ? Date.parse(ts) / 1000 : 0);
const mb = (v) => Number(v || 0);

function human(bytes) {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (bytes >= 1024 && i < u.length - 1) { bytes /= 1024; i++; }
  return (i ? bytes.toFixed(1) : bytes) + " " + u[i];
}

// syncLag is upstream's synced delay: the newest upload to another member
// minus the newest file this one has from every peer; "" when unknown.
function syncLag(storages, i) {
  let newest = 0;
  storages.forEach((s, j) => { if (j !== i) newest = Math.max(newest, seconds(s.sync && s.sync.lastSourceUpdate)); });
  const synced = seconds(storages[i].sync && storages[i].sync.lastSyncedTime);
  if (!newest) return "0 s";
  if (!synced) return "never synced";
  return Math.max(0, Math.round(newest - synced)) + " s";
}

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function diskCell(row, total, free) {
  const td = row.insertCell();
  const used = total ? (total - free) / total : 0;
  const bar = document.createElement("span");
  bar.className = "bar";
  const fill = document.createElement("span");
  fill.style.width = (used * 100).toFixed(1) + "%";
  bar.appendChild(fill);
  td.append(bar, " " + human(free * 1048576) + " free of " + human(total * 1048576));
}

async function refreshCluster() {
  const groups = (await (await api("/v1/groups")).json()).groups || [];
  const root = document.createElement("div");
  for (const g of groups) {
    const storages = (await (await api("/v1/groups/" + encodeURIComponent(g.name) + "/storages")).json()).storages || [];
    const h = document.createElement("h3");
    h.textContent = g.name + " — " + g.storageCount + " storages, " + g.writableCount + " writable";
    const t = document.createElement("table");
    t.className = "group";
    t.dataset.group = g.name;
    const head = t.createTHead().insertRow();
    ["Storage", "Address", "Status", "Disk", "Sync lag", "Last heartbeat", "Version"].forEach((c) => {
      const th = document.createElement("th"); th.textContent = c; head.appendChild(th);
    });
    const body = t.createTBody();
    storages.forEach((s, i) => {
      const row = body.insertRow();
      row.dataset.storageIp = s.ip;
      row.dataset.storageId = s.storageId;
      cell(row, s.storageId);
      cell(row, s.ip + ":" + s.port);
      const st = statusName(s.status);
      cell(row, st, "status status-" + st);
      diskCell(row, mb(s.totalMb), mb(s.freeMb));
      cell(row, syncLag(storages, i), "lag");
      cell(row, s.lastHeartbeatTime ? new Date(s.lastHeartbeatTime).toLocaleTimeString() : "—");
      cell(row, s.version || "");
    });
    root.append(h, t);
  }
  if (!groups.length) root.innerHTML = '<p class="hint">No group has joined yet.</p>';
  $("groups").replaceChildren(...root.childNodes);
  $("refreshed").textContent = "updated " + new Date().toLocaleTimeString();
}

async function tick() {
  try {
    await refreshCluster();
    showError("");
  } catch (e) {
    showError(e.message);
  }
}

function connect(ev) {
  if (ev) ev.preventDefault();
  state.key = $("key").value || state.key;
  sessionStorage.setItem("fdfs-key", state.key);
  clearInterval(state.timer);
  tick();
  state.timer = setInterval(tick, refreshMs);
  renderUploads();
}

// Uploads: one XHR per file (fetch has no upload progress), raw body.
function uploadFiles(files) {
  let chain = Promise.resolve();
  for (const f of files) chain = chain.then(() => uploadOne(f));
  return chain.catch((e) => showError(e.message));
}

function uploadOne(file) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/files?filename=" + encodeURIComponent(file.name));
    xhr.setRequestHeader("X-API-Key", state.key);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    const setProgress = (done, total) => {
      const pct = total ? Math.round((done / total) * 100) : 100;
      $("progress").value = pct;
      $("progress-text").textContent = file.name + ": " + pct + "% of " + human(total);
    };
    setProgress(0, file.size);
    xhr.upload.onprogress = (e) => setProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onerror = () => reject(new Error("upload of " + file.name + ": network error"));
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (xhr.status !== 201) {
        reject(new Error("upload of " + file.name + ": " + xhr.status + " " + (body.message || xhr.statusText)));
        return;
      }
      setProgress(file.size, file.size);
      $("progress-text").textContent = file.name + ": done, " + body.fileId;
      const list = JSON.parse(localStorage.getItem("fdfs-uploads") || "[]");
      list.unshift({ id: body.fileId, name: file.name, size: file.size });
      localStorage.setItem("fdfs-uploads", JSON.stringify(list.slice(0, 50)));
      renderUploads();
      resolve();
    };
    xhr.send(file);
  });
}

function renderUploads() {
  const ul = $("uploads");
  ul.replaceChildren();
  for (const u of JSON.parse(localStorage.getItem("fdfs-uploads") || "[]")) {
    const li = document.createElement("li");
    li.dataset.fileId = u.id;
    const code = document.createElement("code");
    code.textContent = u.id;
    const look = document.createElement("button");
    look.type = "button";
    look.textContent = "Open";
    look.onclick = () => { $("lookup-id").value = u.id; lookup(); };
    li.append(u.name + " (" + human(u.size) + ") ", code, " ", look);
    ul.appendChild(li);
  }
}

// Lookup: file info, metadata, and a download through the API.
async function lookup(ev) {
  if (ev) ev.preventDefault();
  const id = $("lookup-id").value.trim();
  $("save").hidden = true;
  try {
    const info = await (await api(fileURL(id))).json(); // response_body: "file"
    const meta = (await (await api(fileURL(id, ":getMetadata"))).json()).metadata || {};
    fillTable($("info"), {
      "File ID": info.fileId, Group: info.group, Size: human(Number(info.size)) + " (" + info.size + " bytes)",
      Created: info.createTime, "Source storage": info.sourceIp, Kind: info.kind, CRC32: info.crc32, ETag: info.etag,
    });
    fillTable($("meta"), meta);
    $("file").hidden = false;
    $("file").dataset.fileId = id;
    showError("");
  } catch (e) {
    $("file").hidden = true;
    showError(e.message);
  }
}

function fillTable(t, obj) {
  t.replaceChildren();
  const keys = Object.keys(obj);
  if (!keys.length) { cell(t.insertRow(), "none", "hint"); return; }
  for (const k of keys) {
    const row = t.insertRow();
    cell(row, k);
    cell(row, String(obj[k] === undefined ? "" : obj[k]));
  }
}

async function download() {
  const id = $("file").dataset.fileId;
  try {
    const blob = await (await api(fileURL(id, ":download"))).blob();
    const a = $("save");
    if (a.href) URL.revokeObjectURL(a.href);
    a.href = URL.createObjectURL(blob);
    a.download = id.split("/").pop();
    a.textContent = "Save " + a.download + " (" + human(blob.size) + ")";
    a.dataset.size = String(blob.size);
    a.hidden = false;
    a.click();
  } catch (e) {
    showError(e.message);
  }
}

function setupDrop() {
  const d = $("drop");
  d.addEventListener("dragover", (e) => { e.preventDefault(); d.classList.add("over"); });
  d.addEventListener("dragleave", () => d.classList.remove("over"));
  d.addEventListener("drop", (e) => {
    e.preventDefault();
    d.classList.remove("over");
    uploadFiles(e.dataTransfer.files);
  });
  $("file-input").addEventListener("change", (e) => uploadFiles(e.target.files));
}

document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", connect);
  $("lookup").addEventListener("submit", lookup);
  $("download-btn").addEventListener("click", download);
  setupDrop();
  renderUploads();
  if (state.key) connect();
});
