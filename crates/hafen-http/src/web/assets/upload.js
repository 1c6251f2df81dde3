'use strict';
// Uploads of the file browser page (/apps/files/): file and folder pickers, drag and drop,
// per-file and overall progress, resumable chunked uploads for big files.
//
// The page is served with a strict CSP, so everything here is plain DOM work: no inline
// styles (only `hidden`, classes, <progress>), all user-visible words come from the
// data-t-* attributes of #uploads, numbers are formatted for <html lang>.
(() => {
  const page = document.getElementById('files-page');
  if (!page) return;

  const SMALL_LIMIT = 10 * 1024 * 1024; // up to this size: one PUT
  const CHUNK_SIZE = 10 * 1024 * 1024; // bigger files: chunking v2 with chunks of this size
  const RETRIES = 3; // extra attempts for a data PUT after a network error or 5xx
  const SPEED_WINDOW_MS = 3000; // speed = moving average over this window
  const TEXT_INTERVAL_MS = 250; // per-file texts are not live regions: update often
  // The overall text is a live region: updating it on every progress event would make a
  // screen reader talk without pause, so while bytes flow it changes at most this often
  // (state changes are shown at once; the <progress> bars are always current).
  const LIVE_INTERVAL_MS = 2000;
  const KEY_PREFIX = 'hafen.upload.';
  const SABRE_NS = 'http://sabredav.org/ns';

  const user = page.dataset.user || document.body.dataset.user || '';
  const baseDir = page.dataset.dir || '/';
  const csrf = page.dataset.csrf || document.querySelector('meta[name="hafen-csrf"]')?.content || '';

  const list = document.getElementById('uploads') || page.appendChild(document.createElement('ul'));
  const totalBox = document.getElementById('upload-total') || page.appendChild(document.createElement('div'));
  const totalBar = totalBox.querySelector('progress') || totalBox.appendChild(document.createElement('progress'));
  const totalText = totalBox.querySelector('.upload-text') || totalBox.appendChild(makeSpan('upload-text'));
  if (!totalText.hasAttribute('role')) totalText.setAttribute('role', 'status');
  if (!totalText.hasAttribute('aria-live')) totalText.setAttribute('aria-live', 'polite');

  const DEFAULTS = {
    tOf: 'von', tLeft: 'noch {time}', tDone: 'Fertig', tError: 'Fehler', tCancelled: 'Abgebrochen',
    tCancel: 'Abbrechen', tResumed: 'fortgesetzt', tQueued: 'Wartet',
  };
  const t = (name) => list.dataset[name] || DEFAULTS[name];
  const numbers = new Intl.NumberFormat(document.documentElement.lang || undefined, { maximumFractionDigits: 1 });

  // ---- Formatting ---------------------------------------------------------------------

  function makeSpan(className, text) {
    const span = document.createElement('span');
    span.className = className;
    if (text) span.textContent = text;
    return span;
  }

  function bytesText(bytes) {
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let value = bytes;
    let unit = 0;
    while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
    return numbers.format(unit === 0 ? Math.round(value) : value) + ' ' + units[unit];
  }

  function durationText(seconds) {
    const s = Math.max(1, Math.ceil(seconds));
    if (s < 60) return s + ' s';
    if (s < 3600) {
      const minutes = Math.floor(s / 60);
      // Seconds matter only while the minutes are few.
      return minutes + ' min' + (minutes < 10 && s % 60 ? ' ' + (s % 60) + ' s' : '');
    }
    const hours = Math.floor(s / 3600);
    const minutes = Math.floor((s % 3600) / 60);
    return numbers.format(hours) + ' h' + (minutes ? ' ' + minutes + ' min' : '');
  }

  /// Bytes actually sent recently; gives the speed as a moving average.
  class Meter {
    constructor() { this.moved = 0; this.samples = []; }
    add(bytes) {
      this.moved += bytes;
      const now = performance.now();
      this.samples.push([now, this.moved]);
      // Keep one sample from before the window so the window is always covered.
      while (this.samples.length > 2 && now - this.samples[1][0] > SPEED_WINDOW_MS) this.samples.shift();
    }
    speed() {
      if (this.samples.length < 2) return 0;
      const [start, startBytes] = this.samples[0];
      // Measured up to now, so a stalled upload slows down instead of keeping its last speed.
      const seconds = (performance.now() - start) / 1000;
      return seconds < 0.5 ? 0 : (this.moved - startBytes) / seconds;
    }
  }

  function progressText(sent, size, meter) {
    const parts = [bytesText(sent) + ' ' + t('tOf') + ' ' + bytesText(size)];
    const speed = meter.speed();
    if (speed > 0) {
      parts.push(bytesText(speed) + '/s');
      parts.push(t('tLeft').replace('{time}', durationText(Math.max(0, size - sent) / speed)));
    }
    return parts.join(' · ');
  }

  // ---- Requests -------------------------------------------------------------------------

  class UploadError extends Error {
    constructor(kind, message, status) { super(message || ''); this.kind = kind; this.status = status || 0; }
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const segments = (path) => path.split('/').filter(Boolean);
  const treePath = (relative) => '/' + segments(baseDir).concat(segments(relative)).join('/');
  const filesUrl = (path) =>
    '/remote.php/dav/files/' + encodeURIComponent(user) + segments(path).map((s) => '/' + encodeURIComponent(s)).join('');
  const uploadsUrl = (transfer, chunk) =>
    '/remote.php/dav/uploads/' + encodeURIComponent(user) + '/' + encodeURIComponent(transfer) +
    (chunk ? '/' + encodeURIComponent(chunk) : '');
  const mtime = (file) => String(Math.floor((file.lastModified || Date.now()) / 1000));

  /// One XMLHttpRequest (XHR rather than fetch for the upload progress events). Resolves with
  /// the finished request whatever its status; rejects on network errors and aborts. The
  /// request is kept on `item` so that its cancel button can abort it.
  function send(method, url, { headers = {}, body = null, item = null, onProgress = null } = {}) {
    if (item && item.cancelled) return Promise.reject(new UploadError('aborted'));
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.withCredentials = true; // the session cookie authenticates, requesttoken proves the page
      xhr.setRequestHeader('requesttoken', csrf);
      xhr.setRequestHeader('X-Requested-With', 'XMLHttpRequest');
      for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
      if (onProgress) xhr.upload.onprogress = (event) => onProgress(event.loaded);
      xhr.onload = () => resolve(xhr);
      xhr.onerror = () => reject(new UploadError('network'));
      xhr.ontimeout = () => reject(new UploadError('network'));
      xhr.onabort = () => reject(new UploadError('aborted'));
      if (item) item.xhr = xhr;
      xhr.send(body);
    }).finally(() => { if (item) item.xhr = null; });
  }

  /// The server explains refusals in `<s:message>`; show that rather than a bare status code.
  function httpError(xhr) {
    let message = '';
    try {
      const doc = new DOMParser().parseFromString(xhr.responseText, 'application/xml');
      message = (doc.getElementsByTagNameNS(SABRE_NS, 'message')[0]?.textContent || '').trim();
    } catch (_) { /* not XML: fall back to the status */ }
    return new UploadError('http', message || ('HTTP ' + xhr.status + (xhr.statusText ? ' ' + xhr.statusText : '')), xhr.status);
  }

  function expect(xhr, ...statuses) {
    if (!statuses.includes(xhr.status)) throw httpError(xhr);
    return xhr;
  }

  // 507 (quota) and 501 are 5xx as well, but another attempt cannot succeed.
  const retryable = (status) => status >= 500 && status !== 501 && status !== 507;

  /// PUTs `body`, retrying a few times with growing pauses after transient failures.
  /// `base` is what of the file is already on the server before this request.
  async function putWithRetry(item, url, body, headers, base) {
    for (let attempt = 0; ; attempt += 1) {
      let last = 0;
      const onProgress = (loaded) => {
        const delta = loaded - last;
        last = loaded;
        if (delta > 0) { item.meter.add(delta); batch.meter.add(delta); }
        item.sent = base + loaded;
        render(item);
      };
      try {
        const xhr = await send('PUT', url, { headers, body, item, onProgress });
        if (xhr.status >= 200 && xhr.status < 300) return xhr;
        if (!retryable(xhr.status) || attempt >= RETRIES) throw httpError(xhr);
      } catch (error) {
        item.sent = base; // what this request sent does not count
        if (error.kind !== 'network' || attempt >= RETRIES) throw error;
      }
      await sleep(1000 * 2 ** attempt);
    }
  }

  // ---- Folders --------------------------------------------------------------------------

  let folders = knownFolders(); // tree path -> Promise of its MKCOL, per batch

  /// The folder shown and its ancestors exist: no MKCOL for them (it would only answer 405).
  function knownFolders() {
    const known = new Map();
    const parts = segments(baseDir);
    for (let i = 1; i <= parts.length; i += 1) known.set('/' + parts.slice(0, i).join('/'), Promise.resolve());
    return known;
  }

  /// Creates the folder (and its parents first); an existing one (405) is fine.
  function ensureFolder(path) {
    const parts = segments(path);
    let chain = Promise.resolve();
    for (let i = 1; i <= parts.length; i += 1) {
      const prefix = '/' + parts.slice(0, i).join('/');
      if (!folders.has(prefix)) {
        const created = chain.then(() => send('MKCOL', filesUrl(prefix))).then((xhr) => { expect(xhr, 201, 405); });
        created.catch(() => folders.delete(prefix)); // let a later file try again
        folders.set(prefix, created);
      }
      chain = folders.get(prefix);
    }
    return chain;
  }

  // ---- Resumable chunked upload -----------------------------------------------------------

  const storageKey = (item) => KEY_PREFIX + item.dest + '|' + item.size + '|' + item.file.lastModified;
  const storage = {
    // localStorage may be unavailable (privacy settings); uploads then just do not resume.
    get(key) { try { return localStorage.getItem(key); } catch (_) { return null; } },
    set(key, value) { try { localStorage.setItem(key, value); } catch (_) { /* not resumable */ } },
    remove(key) { try { localStorage.removeItem(key); } catch (_) { /* nothing stored */ } },
  };

  function newTransferId() {
    // getRandomValues also works on plain http, unlike crypto.randomUUID.
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return 'web-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  const chunkName = (index) => String(index).padStart(5, '0');

  /// The chunks of a transfer on the server: name -> size.
  function parseChunks(xhr) {
    const doc = new DOMParser().parseFromString(xhr.responseText, 'application/xml');
    const chunks = new Map();
    for (const response of doc.getElementsByTagNameNS('DAV:', 'response')) {
      const href = response.getElementsByTagNameNS('DAV:', 'href')[0]?.textContent || '';
      const length = response.getElementsByTagNameNS('DAV:', 'getcontentlength')[0]?.textContent;
      const name = decodeURIComponent(href.replace(/\/+$/, '').split('/').pop() || '');
      // The folder itself has no length; `.file` is the virtual assembled file.
      if (length === undefined || name === '.file') continue;
      chunks.set(name, Number(length));
    }
    return chunks;
  }

  async function uploadChunked(item) {
    const key = storageKey(item);
    const destination = location.origin + filesUrl(item.dest);
    const count = Math.ceil(item.size / CHUNK_SIZE);
    let transfer = storage.get(key);
    let present = new Map();
    if (transfer) {
      // Uploaded before (network error, reload): ask the server what it already has.
      const xhr = await send('PROPFIND', uploadsUrl(transfer), { headers: { Depth: '1' }, item });
      if (xhr.status === 207) present = parseChunks(xhr);
      else if (xhr.status === 404) transfer = null; // expired or assembled: start over
      else throw httpError(xhr);
    }
    if (!transfer) {
      transfer = newTransferId();
      item.transfer = transfer; // before MKCOL, so that cancel also removes a half-made session
      const headers = { Destination: destination, 'OC-Total-Length': String(item.size) };
      expect(await send('MKCOL', uploadsUrl(transfer), { headers, item }), 201);
      storage.set(key, transfer);
    }
    item.transfer = transfer;
    // Chunks this script would not send (other names) would end up in the assembled file.
    const wanted = new Set(Array.from({ length: count }, (_, i) => chunkName(i + 1)));
    for (const name of present.keys()) {
      if (!wanted.has(name)) expect(await send('DELETE', uploadsUrl(transfer, name), { item }), 204, 404);
    }
    for (let index = 1; index <= count; index += 1) {
      const start = (index - 1) * CHUNK_SIZE;
      const end = Math.min(item.size, start + CHUNK_SIZE);
      const name = chunkName(index);
      if (present.get(name) === end - start) {
        item.resumedBytes += end - start;
        item.li.dataset.resumedBytes = String(item.resumedBytes);
        item.sent = end;
        render(item, true);
        continue;
      }
      await putWithRetry(item, uploadsUrl(transfer, name), item.file.slice(start, end), {}, start);
    }
    const headers = { Destination: destination, 'OC-Total-Length': String(item.size), 'X-OC-Mtime': mtime(item.file) };
    expect(await send('MOVE', uploadsUrl(transfer, '.file'), { headers, item }), 201, 204);
    storage.remove(key);
  }

  // ---- Items and queue --------------------------------------------------------------------

  const TERMINAL = ['done', 'error', 'cancelled'];
  const newBatch = () => ({ items: [], meter: new Meter(), failed: false, folders: [] });
  let batch = newBatch();
  let running = false;
  const queue = [];

  function makeItem(file, path) {
    const li = document.createElement('li');
    li.className = 'upload';
    li.dataset.name = path;
    li.dataset.state = 'queued';
    li.dataset.resumedBytes = '0';
    const bar = document.createElement('progress');
    bar.max = Math.max(file.size, 1); // max must be positive, also for empty files
    bar.value = 0;
    bar.setAttribute('aria-label', path);
    const text = makeSpan('upload-text', t('tQueued'));
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.className = 'cancel';
    cancel.textContent = t('tCancel');
    cancel.setAttribute('aria-label', t('tCancel') + ': ' + path); // which of many buttons
    li.append(makeSpan('upload-name', path), ' ', bar, ' ', text, ' ', cancel);
    const item = {
      file, path, dest: treePath(path), size: file.size, sent: 0, resumedBytes: 0, state: 'queued',
      li, bar, text, cancel, meter: new Meter(), xhr: null, transfer: null, cancelled: false, shown: 0,
    };
    cancel.addEventListener('click', () => cancelItem(item));
    return item;
  }

  function render(item, force) {
    item.bar.value = item.state === 'done' ? item.bar.max : item.sent;
    const now = performance.now();
    if (item.state === 'uploading' && (force || now - item.shown >= TEXT_INTERVAL_MS)) {
      item.shown = now;
      item.text.textContent = progressText(item.sent, item.size, item.meter) +
        (item.resumedBytes > 0 ? ' · ' + t('tResumed') : '');
    }
    renderTotal(false);
  }

  let totalShown = 0;
  function renderTotal(force) {
    // Cancelled files leave the total; failed ones count with what reached the server.
    const counted = batch.items.filter((item) => item.state !== 'cancelled');
    const size = counted.reduce((sum, item) => sum + item.size, 0);
    const sent = counted.reduce((sum, item) => sum + (item.state === 'done' ? item.size : item.sent), 0);
    totalBar.max = Math.max(size, 1);
    totalBar.value = size === 0 && !running && !batch.failed ? 1 : sent;
    const now = performance.now();
    if (running && (force || now - totalShown >= LIVE_INTERVAL_MS)) {
      totalShown = now;
      totalText.textContent = progressText(sent, size, batch.meter);
    }
    return { size, sent };
  }

  function setState(item, state, message) {
    item.state = state;
    item.li.dataset.state = state;
    if (state === 'uploading') render(item, true);
    else if (state === 'done') {
      item.text.textContent = bytesText(item.size) + ' · ' + t('tDone') + (item.resumedBytes > 0 ? ' (' + t('tResumed') + ')' : '');
    } else if (state === 'error') item.text.textContent = t('tError') + (message ? ': ' + message : '');
    else if (state === 'cancelled') item.text.textContent = t('tCancelled');
    if (TERMINAL.includes(state)) {
      item.cancel.hidden = true;
      item.bar.value = state === 'done' ? item.bar.max : item.sent;
    }
    renderTotal(true);
  }

  async function cancelItem(item) {
    if (item.cancelled || TERMINAL.includes(item.state)) return;
    item.cancelled = true;
    if (item.xhr) item.xhr.abort();
    setState(item, 'cancelled');
    // A started chunked transfer is dropped on the server and forgotten here.
    const key = storageKey(item);
    const transfer = item.transfer || (item.size > SMALL_LIMIT ? storage.get(key) : null);
    storage.remove(key);
    if (transfer) {
      try { await send('DELETE', uploadsUrl(transfer)); } catch (_) { /* expires on its own */ }
    }
  }

  async function upload(item) {
    setState(item, 'uploading');
    try {
      const parent = item.dest.slice(0, item.dest.lastIndexOf('/'));
      if (parent) await ensureFolder(parent);
      if (item.size <= SMALL_LIMIT) {
        await putWithRetry(item, filesUrl(item.dest), item.file, { 'X-OC-Mtime': mtime(item.file) }, 0);
      } else {
        await uploadChunked(item);
      }
      item.sent = item.size;
      setState(item, 'done');
    } catch (error) {
      if (item.cancelled) return; // cancelItem has shown it already
      batch.failed = true;
      setState(item, 'error', error.kind === 'http' ? error.message : '');
    }
  }

  /// Adds files ({file, path relative to the current folder}) and folders (relative paths,
  /// parents first, for empty folders of a drop) to the queue and starts it if idle.
  function enqueue(files, emptyFolders = []) {
    if (!files.length && !emptyFolders.length) return;
    if (!running) { batch = newBatch(); folders = knownFolders(); }
    list.hidden = false;
    totalBox.hidden = false;
    for (const { file, path } of files) {
      const item = makeItem(file, path);
      list.appendChild(item.li);
      batch.items.push(item);
      queue.push(item);
    }
    batch.folders.push(...emptyFolders);
    run();
  }

  async function run() {
    if (running) return;
    running = true;
    totalBox.dataset.state = 'uploading';
    renderTotal(true);
    for (;;) {
      while (batch.folders.length) {
        try { await ensureFolder(treePath(batch.folders.shift())); } catch (_) { batch.failed = true; }
      }
      const item = queue.shift();
      if (!item) break;
      if (!item.cancelled) await upload(item);
    }
    running = false;
    const { size, sent } = renderTotal(true);
    totalBox.dataset.state = batch.failed ? 'error' : 'done';
    totalText.textContent = batch.failed
      ? bytesText(sent) + ' ' + t('tOf') + ' ' + bytesText(size) + ' · ' + t('tError')
      : bytesText(size) + ' · ' + t('tDone');
    try { await refreshTable(); } catch (_) { /* the list is only stale; a reload fixes it */ }
    document.dispatchEvent(new CustomEvent('hafen:uploads-finished'));
  }

  /// Shows the new files without reloading the page (a reload would also drop the upload list).
  async function refreshTable() {
    const table = document.getElementById('file-table');
    if (!table) return;
    const response = await fetch(location.href, { credentials: 'same-origin', cache: 'no-store' });
    if (!response.ok) return;
    const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
    const fresh = doc.getElementById('file-table');
    if (fresh) table.innerHTML = fresh.innerHTML;
  }

  // ---- Sources: pickers and drag and drop ---------------------------------------------------

  const filesInput = document.getElementById('upload-files');
  filesInput?.addEventListener('change', () => {
    enqueue(Array.from(filesInput.files, (file) => ({ file, path: file.name })));
    filesInput.value = ''; // so that picking the same file again (to resume) fires `change`
  });
  const folderInput = document.getElementById('upload-folder');
  folderInput?.addEventListener('change', () => {
    enqueue(Array.from(folderInput.files, (file) => ({ file, path: file.webkitRelativePath || file.name })));
    folderInput.value = '';
  });

  const entryPath = (entry) => entry.fullPath.replace(/^\/+/, '');

  /// Walks dropped entries: files with their relative paths, folders parents first.
  async function walk(entries, out) {
    for (const entry of entries) {
      if (entry.isFile) {
        try {
          out.files.push({ file: await new Promise((ok, fail) => entry.file(ok, fail)), path: entryPath(entry) });
        } catch (_) { /* unreadable (removed meanwhile): skipped */ }
      } else if (entry.isDirectory) {
        out.folders.push(entryPath(entry));
        const reader = entry.createReader();
        const children = [];
        // readEntries answers in portions (100 in Chromium) until it returns an empty one.
        for (;;) {
          const portion = await new Promise((ok, fail) => reader.readEntries(ok, fail));
          if (!portion.length) break;
          children.push(...portion);
        }
        await walk(children, out);
      }
    }
    return out;
  }

  const dropzone = document.getElementById('dropzone');
  const main = document.querySelector('main');
  const targets = [main, dropzone].filter(Boolean).filter((el, _, all) => !all.some((other) => other !== el && other.contains(el)));
  const carriesFiles = (event) => Array.from(event.dataTransfer?.types || []).includes('Files');
  const dragging = (on) => dropzone?.classList.toggle('dragging', on);

  for (const target of targets) {
    target.addEventListener('dragover', (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault(); // allows the drop
      event.dataTransfer.dropEffect = 'copy';
      dragging(true);
    });
    target.addEventListener('dragleave', (event) => {
      if (!target.contains(event.relatedTarget)) dragging(false);
    });
    target.addEventListener('drop', (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      dragging(false);
      // Items and files are only readable during the event: take them now.
      const entries = Array.from(event.dataTransfer.items || [])
        .filter((item) => item.kind === 'file')
        .map((item) => item.webkitGetAsEntry?.())
        .filter(Boolean);
      const files = Array.from(event.dataTransfer.files, (file) => ({ file, path: file.name }));
      if (!entries.length) { enqueue(files); return; }
      walk(entries, { files: [], folders: [] }).then((found) => enqueue(found.files, found.folders));
    });
  }
  // A file dropped beside the drop area would otherwise open in the tab and end the uploads.
  for (const type of ['dragover', 'drop']) {
    document.addEventListener(type, (event) => {
      if (carriesFiles(event) && !event.defaultPrevented) {
        event.preventDefault();
        event.dataTransfer.dropEffect = 'none';
      }
    });
  }
  document.addEventListener('dragend', () => dragging(false));
})();
