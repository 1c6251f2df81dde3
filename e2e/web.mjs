// End-to-end tests of Hafen's web interface in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core; no browser download), with axe-core accessibility checks.
//
//   HAFEN_URL=http://127.0.0.1:PORT HAFEN_ADMIN_USER=admin HAFEN_ADMIN_PASSWORD=… \
//   HAFEN_SCREENSHOTS=/some/dir node e2e/web.mjs
//
// Optional: HAFEN_E2E_BIG_MB (size of the big drag-and-drop upload, default 200),
// HAFEN_CHROMIUM (browser binary, default /usr/bin/chromium), HAFEN_E2E_OUT (downloads and
// temporary files, default e2e/out), HAFEN_E2E_DEADLINE_S (whole-run watchdog, default 480),
// HAFEN_E2E_STEPS (development only: a comma-separated list of the steps to run, e.g. a,l).
//
// Expects a fresh server (it creates fixed names such as /Projekt in the admin's tree).
// Every scenario is a named step; a step whose prerequisite failed is reported as skipped.
// The process exits with status 1 when any step failed or was skipped, naming each one.
// Steps a–n are the scenarios of the web interface's acceptance list; step o checks the rest of
// the DOM contract (filter, sorting, sharing with a person, unshare, revoke, logout).
// Every browser context fails the running step on a CSP violation (Chromium's console message
// "… violates the following Content Security Policy directive …", older ones "Refused to …"), an
// uncaught JavaScript error or an HTTP 5xx answer. No context bypasses the CSP: axe is injected through
// the DevTools protocol (page.evaluate), which the pages' CSP does not govern.

import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

const BASE = (process.env.HAFEN_URL || '').replace(/\/+$/, '');
const ADMIN = process.env.HAFEN_ADMIN_USER || 'admin';
const ADMIN_PASSWORD = process.env.HAFEN_ADMIN_PASSWORD || '';
const SHOTS = path.resolve(process.env.HAFEN_SCREENSHOTS || path.join(here, 'out', 'screenshots'));
const OUT = path.resolve(process.env.HAFEN_E2E_OUT || path.join(here, 'out'));
const BIG_MB = Number(process.env.HAFEN_E2E_BIG_MB || 200);
const CHROMIUM = process.env.HAFEN_CHROMIUM || '/usr/bin/chromium';
const DEADLINE_S = Number(process.env.HAFEN_E2E_DEADLINE_S || 480);
// For development: HAFEN_E2E_STEPS=a,l runs only those steps (the others count as not run).
const ONLY = process.env.HAFEN_E2E_STEPS ? process.env.HAFEN_E2E_STEPS.split(',').map((id) => id.trim()) : null;

if (!BASE || !ADMIN_PASSWORD) {
  console.error('web.mjs: set HAFEN_URL and HAFEN_ADMIN_PASSWORD (and HAFEN_ADMIN_USER, HAFEN_SCREENSHOTS)');
  process.exit(2);
}
if (!(BIG_MB > 0)) {
  console.error(`web.mjs: HAFEN_E2E_BIG_MB=${process.env.HAFEN_E2E_BIG_MB} is not a positive number`);
  process.exit(2);
}

const MIB = 1024 * 1024;
const BIG_SIZE = Math.round(BIG_MB * MIB);
const BIG_SEED = 0x4841_4645; // "HAFE"
const BIG_NAME = 'gross.bin';
const BIG_LAST_MODIFIED = Date.UTC(2024, 4, 17, 9, 30, 0); // fixed, so that a re-drop is "the same file"

const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const ACTION_TIMEOUT = 15_000;
const NAVIGATION_TIMEOUT = 30_000;
const STEP_TIMEOUT = 90_000;
const BIG_STEP_TIMEOUT = 240_000;

// Names the scenarios create (the server must be fresh).
const LINK_PASSWORD = 'Hafen-Link-Passwort-2024';
const RUN = Date.now().toString(36).slice(-5);
const ORG = { name: `nordlicht${RUN}`, display: 'Nordlicht GmbH' };
const MEMBER = {
  name: `berta${RUN}`,
  display: 'Berta Beispiel',
  email: `berta${RUN}@example.test`,
  password: 'Berta-Passwort-2024!',
};
const FOLDER_FILES = {
  'a.txt': 'Alpha: die erste Datei im Ordner.\n',
  'b.txt': 'Beta: zweite Datei.\n',
  'unter/c.txt': 'Gamma: Umlaute äöüß und ein Unterordner.\n',
};
const NOTE_CONTENT = 'Notiz für den Test: umbenennen, verschieben, kopieren, löschen.\n';
const DROP_CONTENT = 'Abgabe über einen Datei-Ablage-Link.\n';
const KEYBOARD_CONTENT = 'Nur mit der Tastatur hochgeladen.\n';

// ---------------------------------------------------------------------------------------------
// Steps, problems and reporting
// ---------------------------------------------------------------------------------------------

const startedAt = Date.now();
const results = [];
const passed = new Set();
let current = null; // the running step: { id, title, problems: [] }
const strayProblems = []; // reported by the browser outside any step

function elapsed(since = startedAt) {
  return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}

function log(message) {
  console.log(`[${elapsed()}] ${message}`);
}

/** Records a problem against the running step (the step fails at its end). */
function problem(message) {
  if (current) {
    current.problems.push(message);
    log(`  ! [${current.id}] ${message}`);
  } else {
    strayProblems.push(message);
    log(`  ! (between steps) ${message}`);
  }
}

class CheckFailed extends Error {}

function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new CheckFailed(`${what}: step timed out after ${ms / 1000}s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function step(id, title, needs, body, timeout = STEP_TIMEOUT) {
  if (ONLY && !ONLY.includes(id)) {
    results.push({ id, title, status: 'OFF', detail: [] });
    return;
  }
  const missing = needs.filter((need) => !passed.has(need));
  if (missing.length > 0) {
    const detail = `skipped: needs step(s) ${missing.join(', ')}, which did not pass`;
    results.push({ id, title, status: 'SKIP', detail: [detail] });
    log(`SKIP [${id}] ${title}: ${detail}`);
    return;
  }
  current = { id, title, problems: [] };
  const since = Date.now();
  log(`---- [${id}] ${title}`);
  try {
    await withTimeout(Promise.resolve().then(body), timeout, `[${id}] ${title}`);
  } catch (error) {
    const text = error instanceof CheckFailed ? error.message : String(error?.stack || error);
    // Playwright's messages carry a call log; keep its head, which names the selector.
    current.problems.push(text.split('\n').slice(0, 12).join('\n'));
  }
  const { problems } = current;
  current = null;
  if (problems.length === 0) {
    passed.add(id);
    results.push({ id, title, status: 'PASS', detail: [] });
    log(`PASS [${id}] ${title} (${elapsed(since)})`);
  } else {
    results.push({ id, title, status: 'FAIL', detail: problems });
    log(`FAIL [${id}] ${title} (${elapsed(since)})`);
    for (const text of problems) console.log(indent(text, '      '));
  }
}

function indent(text, prefix) {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// Browser helpers
// ---------------------------------------------------------------------------------------------

let browser;

/** A new browser context (German, desktop size) whose pages report CSP violations, JS errors and 5xx. */
async function newContext(options = {}) {
  const context = await browser.newContext({
    locale: 'de-DE',
    viewport: DESKTOP,
    acceptDownloads: true,
    ...options,
  });
  context.setDefaultTimeout(ACTION_TIMEOUT);
  context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT);
  context.on('console', (message) => {
    const text = message.text();
    const where = message.page()?.url() ?? '?';
    if (/Refused to|Content[- ]Security[- ]Policy/i.test(text)) {
      problem(`CSP violation on ${where}: ${text}`);
    } else if (message.type() === 'error') {
      log(`  console error on ${where}: ${text}`);
    }
  });
  context.on('weberror', (webError) => {
    const where = webError.page()?.url() ?? '?';
    problem(`JavaScript error on ${where}: ${webError.error()?.stack || webError.error()}`);
  });
  context.on('response', (response) => {
    if (response.status() >= 500) {
      problem(`HTTP ${response.status()} for ${response.request().method()} ${response.url()}`);
    } else if (response.status() >= 400) {
      log(`  HTTP ${response.status()} for ${response.request().method()} ${response.url()}`);
    }
  });
  context.on('page', (page) => {
    page.on('dialog', async (dialog) => {
      log(`  dialog (${dialog.type()}) on ${page.url()}: "${dialog.message()}" -> accepted`);
      await dialog.accept().catch(() => {});
    });
  });
  return context;
}

async function newPage(options = {}) {
  const context = await newContext(options);
  const page = await context.newPage();
  return { context, page };
}

function url(pathAndQuery) {
  return BASE + pathAndQuery;
}

function filesUrl(dir) {
  return url(`/apps/files/?dir=${encodeURIComponent(dir)}`);
}

function attr(value) {
  return JSON.stringify(String(value)); // a CSS string literal
}

function row(page, name) {
  return page.locator(`#file-table tr[data-name=${attr(name)}]`);
}

/** Waits until `locator` is visible; the error names `what`. */
async function visible(locator, what, timeout = ACTION_TIMEOUT) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout });
  } catch (error) {
    throw new CheckFailed(`${what} did not become visible within ${timeout / 1000}s (${firstLine(error)})`);
  }
}

async function gone(locator, what, timeout = ACTION_TIMEOUT) {
  try {
    await locator.first().waitFor({ state: 'detached', timeout });
  } catch (error) {
    throw new CheckFailed(`${what} is still there after ${timeout / 1000}s`);
  }
}

function firstLine(error) {
  return String(error?.message || error).split('\n')[0];
}

async function poll(what, timeout, interval, probe) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await probe();
    } catch (error) {
      // A navigation replaced the page while probing: probe the new page next time.
      if (!/Execution context was destroyed|navigat/i.test(String(error?.message))) throw error;
      last = null;
    }
    if (last) return last;
    if (Date.now() > deadline) throw new CheckFailed(`${what} (waited ${timeout / 1000}s)`);
    await sleep(interval);
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function goto(page, target, { allow = [] } = {}) {
  const response = await page.goto(target, { waitUntil: 'load' });
  check(response, `no response for ${target}`);
  check(response.status() < 400 || allow.includes(response.status()), `GET ${target} answered ${response.status()}`);
  return response;
}

/**
 * Runs `action` (a click or key press that submits a form or follows a link) and waits for the
 * navigation it starts and the new page's load; returns whether a navigation happened (false
 * when none started within 10 s, e.g. a script handled the action in place).
 */
async function settle(page, action) {
  const navigated = page
    .waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame(), timeout: 10_000 })
    .then(() => true, () => false);
  await action();
  const result = await navigated;
  await page.waitForLoadState('load');
  return result;
}

function clickAndSettle(page, selector) {
  return settle(page, () => page.locator(selector).click());
}

async function htmlLang(page) {
  return page.evaluate(() => document.documentElement.getAttribute('lang'));
}

async function dataDir(page) {
  await visible(page.locator('#files-page'), 'file browser (#files-page)');
  return page.locator('#files-page').getAttribute('data-dir');
}

function isFilesPath(address) {
  const parsed = new URL(address);
  return parsed.pathname === '/apps/files/' || parsed.pathname === '/apps/files';
}

async function login(page, user, password) {
  await goto(page, url('/login'));
  await visible(page.locator('#user'), 'login field #user');
  await page.locator('#user').fill(user);
  await page.locator('#password').fill(password);
  await clickAndSettle(page, '#login');
  if (!isFilesPath(page.url())) {
    const error = page.locator('.error[role=alert]');
    const text = (await error.count()) > 0 ? (await error.first().innerText()).trim() : '(no .error[role=alert])';
    throw new CheckFailed(`login as ${user} led to ${page.url()}, not /apps/files/: ${text}`);
  }
  const shown = await page.locator('body').getAttribute('data-user');
  check(shown === user, `after login as ${user}, <body data-user> is ${JSON.stringify(shown)}`);
}

/** Waits for the row, reloading the page once when the list did not update by itself. */
async function expectRow(page, name, type) {
  const locator = type ? page.locator(`#file-table tr[data-name=${attr(name)}][data-type=${attr(type)}]`) : row(page, name);
  try {
    await locator.first().waitFor({ state: 'visible', timeout: 3_000 });
  } catch {
    log(`  row ${name} not shown without a reload; reloading ${page.url()}`);
    await page.reload({ waitUntil: 'load' });
    await visible(locator, `row ${name}${type ? ` (data-type=${type})` : ''} in #file-table of ${page.url()}`);
  }
}

async function expectNoRow(page, name) {
  await page.reload({ waitUntil: 'load' });
  await visible(page.locator('#file-table'), '#file-table');
  const count = await row(page, name).count();
  check(count === 0, `row ${name} is still listed in ${page.url()}`);
}

/** Fills the selection bar's target folder (a text field or a select). */
async function setTarget(page, folder) {
  const target = page.locator('#target');
  await visible(target, 'target folder field #target');
  const tag = await target.evaluate((el) => el.tagName);
  if (tag === 'SELECT') {
    await target.selectOption(folder);
  } else {
    await target.fill(folder);
  }
}

async function selectRows(page, names) {
  for (const name of names) {
    const box = page.locator(`#file-table input.select[name=selected][value=${attr(name)}]`);
    await visible(box, `selection checkbox of ${name}`);
    await box.check();
  }
}

async function expectFlash(page, what) {
  const flash = page.locator('#flash');
  await visible(flash, `status message #flash after ${what}`);
  const isError = await flash.evaluate((el) => el.classList.contains('error'));
  const text = (await flash.innerText()).trim();
  check(!isError, `after ${what}: #flash is an error: "${text}"`);
  const role = await flash.getAttribute('role');
  check(role === 'status', `after ${what}: #flash has role=${JSON.stringify(role)}, expected status`);
}

/** Uploads in #uploads: [{ name, state, resumed }]. */
async function uploadStates(page) {
  return page.locator('#uploads li.upload').evaluateAll((items) =>
    items.map((li) => ({
      name: li.getAttribute('data-name'),
      state: li.getAttribute('data-state'),
      resumed: li.getAttribute('data-resumed-bytes'),
    })),
  );
}

/** Waits until at least `count` uploads are listed and none is queued or uploading; fails on error/cancelled. */
async function waitUploadsSettled(page, count, what, timeout = 60_000) {
  const states = await poll(`${what}: uploads did not finish`, timeout, 200, async () => {
    const list = await uploadStates(page);
    if (list.length < count) return null;
    return list.some((item) => item.state === 'queued' || item.state === 'uploading' || !item.state) ? null : list;
  }).catch(async (error) => {
    throw new CheckFailed(`${error.message}; #uploads: ${JSON.stringify(await uploadStates(page).catch(() => '?'))}`);
  });
  const bad = states.filter((item) => item.state !== 'done');
  check(bad.length === 0, `${what}: uploads not done: ${JSON.stringify(bad)}`);
  return states;
}

async function shot(page, name) {
  const file = path.join(SHOTS, name);
  await page.screenshot({ path: file });
  log(`  screenshot ${file}`);
}

// ---------------------------------------------------------------------------------------------
// Keyboard helpers
// ---------------------------------------------------------------------------------------------

async function activeDescription(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return '<body>';
    const id = el.id ? `#${el.id}` : '';
    const cls = el.classList.length ? `.${[...el.classList].join('.')}` : '';
    const text = (el.innerText || el.value || '').trim().slice(0, 30);
    return `<${el.tagName.toLowerCase()}${id}${cls}> "${text}"`;
  });
}

/**
 * Presses Tab (or Shift+Tab) until the focused element matches `selector`; fails after `max`
 * presses (the element is not reachable by keyboard). For links and buttons, also checks that
 * the focus is visible (an outline or a box-shadow).
 */
async function tabTo(page, selector, { max = 150, backwards = false } = {}) {
  const key = backwards ? 'Shift+Tab' : 'Tab';
  const visited = [];
  for (let presses = 0; ; presses++) {
    const matches = await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector);
    if (matches) break;
    if (presses >= max) {
      throw new CheckFailed(
        `${selector} not reached with ${max} × ${key} on ${page.url()}; last focus stops: ${visited.slice(-12).join(' → ')}`,
      );
    }
    await page.keyboard.press(key);
    visited.push(await activeDescription(page));
  }
  const focus = await page.evaluate(() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return {
      tag: el.tagName,
      type: el.getAttribute('type'),
      outlineStyle: style.outlineStyle,
      outlineWidth: style.outlineWidth,
      boxShadow: style.boxShadow,
    };
  });
  const isLinkOrButton =
    focus.tag === 'A' || focus.tag === 'BUTTON' || (focus.tag === 'INPUT' && /^(submit|button|reset)$/.test(focus.type || ''));
  const indicated =
    (focus.outlineStyle !== 'none' && parseFloat(focus.outlineWidth) > 0) || (focus.boxShadow && focus.boxShadow !== 'none');
  if (isLinkOrButton && !indicated) {
    throw new CheckFailed(
      `${selector} has no visible focus indicator when focused by keyboard (outline ${focus.outlineStyle} ${focus.outlineWidth}, box-shadow ${focus.boxShadow})`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Content of the big file: a seeded xorshift32 stream, 1 MiB piece by piece (each piece seeded
// from its index), identical in the page and in node.
// ---------------------------------------------------------------------------------------------

// Self-contained: its source is evaluated in the page as well (through the DevTools protocol).
function bigPiece(index, length, seed) {
  const words = new Uint32Array(Math.ceil(length / 4));
  let state = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    words[i] = state;
  }
  return new Uint8Array(words.buffer, 0, length);
}

function bigFileExpression() {
  const spec = { size: BIG_SIZE, seed: BIG_SEED, name: BIG_NAME, lastModified: BIG_LAST_MODIFIED, mib: MIB };
  return `(() => {
    ${bigPiece.toString()}
    const spec = ${JSON.stringify(spec)};
    const parts = [];
    for (let offset = 0, index = 0; offset < spec.size; offset += spec.mib, index++) {
      parts.push(bigPiece(index, Math.min(spec.mib, spec.size - offset), spec.seed));
    }
    return new File(parts, spec.name, { type: 'application/octet-stream', lastModified: spec.lastModified });
  })()`;
}

let bigDigest;
function expectedBigDigest() {
  if (!bigDigest) {
    const hash = createHash('sha256');
    for (let offset = 0, index = 0; offset < BIG_SIZE; offset += MIB, index++) {
      hash.update(bigPiece(index, Math.min(MIB, BIG_SIZE - offset), BIG_SEED));
    }
    bigDigest = hash.digest('hex');
  }
  return bigDigest;
}

/** Drops `fileHandle` (a File in the page) on #dropzone: dragenter, dragover, drop with one DataTransfer. */
async function dropFile(page, fileHandle) {
  const dataTransfer = await page.evaluateHandle((file) => {
    const transfer = new DataTransfer();
    transfer.items.add(file);
    return transfer;
  }, fileHandle);
  const zone = page.locator('#dropzone');
  await zone.waitFor({ state: 'attached' });
  await zone.dispatchEvent('dragenter', { dataTransfer });
  await zone.dispatchEvent('dragover', { dataTransfer });
  await zone.dispatchEvent('drop', { dataTransfer });
}

// ---------------------------------------------------------------------------------------------
// WebDAV and ZIP helpers (node side)
// ---------------------------------------------------------------------------------------------

function davUrl(user, filePath) {
  const encoded = filePath
    .split('/')
    .filter(Boolean)
    .map(encodeURIComponent)
    .join('/');
  return url(`/remote.php/dav/files/${encodeURIComponent(user)}/${encoded}`);
}

function basic(user, password) {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

async function dav(method, filePath, { user = ADMIN, password = ADMIN_PASSWORD, headers = {}, body } = {}) {
  return fetch(davUrl(user, filePath), {
    method,
    headers: { Authorization: basic(user, password), ...headers },
    body,
  });
}

async function davText(filePath) {
  const response = await dav('GET', filePath);
  check(response.ok, `WebDAV GET ${filePath} answered ${response.status}`);
  return response.text();
}

async function expectDavFile(filePath, content) {
  const text = await davText(filePath);
  check(text === content, `WebDAV content of ${filePath} differs: ${JSON.stringify(text.slice(0, 80))}`);
}

async function expectDavMissing(filePath) {
  const response = await dav('GET', filePath);
  await response.arrayBuffer().catch(() => {});
  check(response.status === 404, `WebDAV GET ${filePath} answered ${response.status}, expected 404`);
}

/** Entries of a ZIP file, read by Python's zipfile (CRCs checked): name → Buffer, or null for a folder. */
function zipEntries(file) {
  const script = [
    'import base64, json, sys, zipfile',
    'archive = zipfile.ZipFile(sys.argv[1])',
    'broken = archive.testzip()',
    'if broken: sys.exit("bad CRC: " + broken)',
    'print(json.dumps({i.filename: (None if i.is_dir() else base64.b64encode(archive.read(i)).decode()) for i in archive.infolist()}))',
  ].join('\n');
  let output;
  try {
    output = execFileSync('python3', ['-c', script, file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    throw new CheckFailed(`${file} is not a valid ZIP: ${String(error.stderr || error.message).trim()}`);
  }
  const raw = JSON.parse(output);
  return Object.fromEntries(Object.entries(raw).map(([name, data]) => [name, data === null ? null : Buffer.from(data, 'base64')]));
}

/** Checks that the ZIP holds exactly `files` (name → text) plus only folder entries from `folders`. */
function expectZip(entries, files, folders, what) {
  const names = Object.keys(entries).sort();
  const problems = [];
  for (const [name, content] of Object.entries(files)) {
    if (!(name in entries)) problems.push(`missing ${name}`);
    else if (entries[name] === null) problems.push(`${name} is a folder entry`);
    else if (!entries[name].equals(Buffer.from(content))) problems.push(`${name} has different bytes`);
  }
  for (const name of names) {
    if (name in files) continue;
    if (entries[name] === null && folders.includes(name)) continue;
    problems.push(`unexpected entry ${name}`);
  }
  check(problems.length === 0, `${what}: ${problems.join('; ')} (entries: ${names.join(', ')})`);
}

async function saveDownload(download, name) {
  const file = path.join(OUT, 'downloads', name);
  await download.saveAs(file);
  const failure = await download.failure();
  check(!failure, `download ${name} failed: ${failure}`);
  return file;
}

// ---------------------------------------------------------------------------------------------
// Share dialog helpers
// ---------------------------------------------------------------------------------------------

async function shareIds(page) {
  return page.locator('#share-list li[data-share-id]').evaluateAll((items) => items.map((li) => li.dataset.shareId));
}

/** Opens the share dialog of `name` (a row of the file browser showing `dir`) through its a.share link. */
async function openShareDialog(page, dir, name) {
  if (!(isFilesPath(page.url()) && (await dataDir(page).catch(() => null)) === dir)) {
    await goto(page, filesUrl(dir));
  }
  const link = row(page, name).locator('a.share');
  await visible(link, `share link a.share of ${name}`);
  await Promise.all([page.waitForURL((u) => new URL(u).pathname === '/apps/files/share'), link.click()]);
  await visible(page.locator('#link-kind'), 'link form #link-kind in the share dialog');
}

/**
 * Checks a link URL shown to the user: /s/TOKEN on the server's own origin (the one the browser
 * used). A wrong origin is recorded as a problem (the step fails), and the link is followed on
 * the server's origin so that the following checks still run. Returns the URL to open.
 */
function checkLinkUrl(value, kind) {
  const parsed = new URL(value, BASE);
  check(/^\/s\/[^/?#]+$/.test(parsed.pathname), `${kind} link URL ${JSON.stringify(value)} is not …/s/TOKEN`);
  if (parsed.origin !== new URL(BASE).origin) {
    problem(`${kind} link URL ${JSON.stringify(value)} does not point to the server (${new URL(BASE).origin}); a visitor could not open it`);
  }
  const usable = new URL(parsed.pathname, BASE).toString();
  log(`  ${kind} link ${value}`);
  return usable;
}

/** Creates a public link in the open share dialog; returns its URL (on the server's origin). */
async function createLink(page, kind, password) {
  const before = new Set(await shareIds(page));
  await page.locator('#link-kind').selectOption(kind);
  if (password) await page.locator('#link-password').fill(password);
  await clickAndSettle(page, '#link-submit');
  const id = await poll('no new entry li[data-share-id] in #share-list after #link-submit', 10_000, 200, async () => {
    const ids = await shareIds(page);
    return ids.find((candidate) => !before.has(candidate)) ?? null;
  });
  const field = page.locator(`#share-list li[data-share-id=${attr(id)}] input.link-url`);
  await visible(field, `input.link-url of the new share ${id}`);
  check((await field.getAttribute('readonly')) !== null, 'input.link-url is not readonly');
  const value = (await field.inputValue()).trim();
  return checkLinkUrl(value, kind);
}

// ---------------------------------------------------------------------------------------------
// Accessibility
// ---------------------------------------------------------------------------------------------

const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** Runs axe on the page; records every serious or critical violation as a problem. */
async function axeCheck(page, label) {
  let results;
  try {
    results = await new AxeBuilder({ page }).withTags(AXE_TAGS).analyze();
  } catch (error) {
    problem(`axe could not analyse ${label} (${page.url()}): ${firstLine(error)}`);
    return;
  }
  const severe = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const other = results.violations.filter((v) => !severe.includes(v));
  log(`  axe ${label}: ${severe.length} serious/critical, ${other.length} other violation(s), ${results.passes.length} rules passed`);
  for (const violation of other) {
    log(`    (${violation.impact}) ${violation.id}: ${violation.help} — ${violation.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  }
  for (const violation of severe) {
    const nodes = violation.nodes.map((node) => `        ${node.target.join(' ')}: ${node.failureSummary?.split('\n').join(' ')}`);
    problem(`axe ${label} (${page.url()}): ${violation.impact} ${violation.id}: ${violation.help}\n${nodes.join('\n')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

const shared = {
  admin: null, // { context, page }
  readLink: null,
  dropLink: null,
  shareDialogUrl: null,
  temp: null,
  shots: new Set(),
};

async function screenshot(page, name) {
  await shot(page, name);
  shared.shots.add(name);
}

async function main() {
  mkdirSync(SHOTS, { recursive: true });
  mkdirSync(path.join(OUT, 'downloads'), { recursive: true });
  shared.temp = mkdtempSync(path.join(OUT, 'tmp-'));
  log(`Hafen ${BASE}, admin ${ADMIN}, big upload ${BIG_MB} MB, screenshots in ${SHOTS}`);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
  log(`Chromium ${browser.version()}`);

  await step('a', 'Anmeldung als Administrator → /apps/files/', [], async () => {
    // Not logged in: / leads to the login form; a wrong password shows an error.
    const anonymous = await newPage();
    await goto(anonymous.page, url('/'));
    check(new URL(anonymous.page.url()).pathname === '/login', `/ without a session went to ${anonymous.page.url()}, not /login`);
    check((await htmlLang(anonymous.page)) === 'de', `login page <html lang> is ${await htmlLang(anonymous.page)}, expected de`);
    await anonymous.page.locator('#user').fill(ADMIN);
    await anonymous.page.locator('#password').fill('definitely-wrong-password');
    await clickAndSettle(anonymous.page, '#login');
    await visible(anonymous.page.locator('.error[role=alert]'), 'error .error[role=alert] after a wrong password');
    check(new URL(anonymous.page.url()).pathname === '/login', `wrong password went to ${anonymous.page.url()}`);
    check((await anonymous.page.context().cookies()).every((c) => c.name !== 'hafen_session' || !c.value), 'session cookie after a wrong password');
    await anonymous.context.close();

    shared.admin = await newPage();
    const { page } = shared.admin;
    await goto(page, url('/login'));
    await screenshot(page, 'login.png');
    await login(page, ADMIN, ADMIN_PASSWORD);
    check((await dataDir(page)) === '/', `#files-page data-dir is ${await dataDir(page)}, expected /`);
    check((await page.locator('#files-page').getAttribute('data-user')) === ADMIN, '#files-page data-user is not the admin');
    const csrf = await page.locator('meta[name=hafen-csrf]').getAttribute('content');
    check(csrf && csrf.length >= 16, `<meta name=hafen-csrf> is ${JSON.stringify(csrf)}`);
    await visible(page.locator('#nav-admin'), 'administration link #nav-admin for an admin');
    const cookie = (await page.context().cookies()).find((c) => c.name === 'hafen_session');
    check(cookie && cookie.httpOnly && cookie.sameSite === 'Lax', `hafen_session cookie: ${JSON.stringify(cookie)}`);
    // With a session, / leads to the file browser.
    await goto(page, url('/'));
    check(isFilesPath(page.url()), `/ with a session went to ${page.url()}`);
  });

  await step('b', 'Ordner „Projekt“ anlegen, hinein, über die Brotkrumen zurück', ['a'], async () => {
    const { page } = shared.admin;
    await goto(page, filesUrl('/'));
    await page.locator('#mkdir-name').fill('Projekt');
    await clickAndSettle(page, '#mkdir-submit');
    await expectFlash(page, 'creating a folder');
    await expectRow(page, 'Projekt', 'dir');
    await Promise.all([
      page.waitForURL((u) => new URL(u).searchParams.get('dir') === '/Projekt'),
      row(page, 'Projekt').locator('a.name').click(),
    ]);
    check((await dataDir(page)) === '/Projekt', `inside Projekt, data-dir is ${await dataDir(page)}`);
    const crumbs = page.locator('nav#breadcrumbs a');
    await visible(crumbs, 'breadcrumb links nav#breadcrumbs a');
    await settle(page, () => crumbs.first().click());
    check((await dataDir(page)) === '/', `the first breadcrumb led to data-dir ${await dataDir(page)}, expected /`);
    await visible(row(page, 'Projekt'), 'row Projekt after going back');
  });

  await step(
    'c',
    `Große Datei (${BIG_MB} MB) per Drag & Drop, Neuladen mitten im Hochladen, Fortsetzen, Prüfsumme`,
    ['b'],
    async () => {
      const { page } = shared.admin;
      await goto(page, filesUrl('/Projekt'));
      check((await dataDir(page)) === '/Projekt', 'not in /Projekt');
      const digest = expectedBigDigest();
      const item = page.locator(`#uploads li.upload[data-name=${attr(BIG_NAME)}]`);

      const sample = () =>
        page.evaluate((name) => {
          const li = [...document.querySelectorAll('#uploads li.upload')].find((el) => el.dataset.name === name);
          const total = document.querySelector('#upload-total progress');
          if (!li) return null;
          const bar = li.querySelector('progress');
          return {
            state: li.dataset.state,
            resumed: li.dataset.resumedBytes,
            fraction: bar && bar.max > 0 ? bar.value / bar.max : null,
            total: total && total.max > 0 ? total.value / total.max : null,
          };
        }, BIG_NAME);

      // Chunk uploads (PUT to the chunked-upload area) that completed, per attempt, to check
      // that the upload is chunked and that the second attempt sends only what was missing.
      const chunks = { first: [], second: [] };
      let attempt = 'first';
      const pending = [];
      const onFinished = (request) => {
        if (request.method() !== 'PUT' || !request.url().includes('/remote.php/dav/uploads/')) return;
        const phase = attempt;
        pending.push(
          Promise.all([request.response(), request.allHeaders()])
            .then(([response, headers]) => {
              // Playwright does not know the size of a Blob body (sizes() says 0); the wire header does.
              const bytes = Number(headers['content-length']);
              if (response && response.ok()) chunks[phase].push(Number.isFinite(bytes) ? bytes : NaN);
            })
            .catch(() => {}),
        );
      };
      page.on('requestfinished', onFinished);

      // Every value the entry's bar shows, recorded inside the page: polling from here (one
      // round trip per sample) can miss steps when the machine uploads 20 MB in one sample.
      await page.evaluate((name) => {
        const seen = [];
        window.__hafenBigProgress = seen;
        const record = () => {
          const li = [...document.querySelectorAll('#uploads li.upload')].find((el) => el.dataset.name === name);
          const bar = li && li.querySelector('progress');
          if (!bar || !(bar.max > 0)) return;
          const fraction = bar.value / bar.max;
          if (seen.length === 0 || seen[seen.length - 1] !== fraction) seen.push(fraction);
        };
        new MutationObserver(record).observe(document.body, {
          subtree: true, childList: true, attributes: true, attributeFilter: ['value', 'max'],
        });
        window.__hafenBigProgressTimer = setInterval(record, 5);
      }, BIG_NAME);

      // First attempt.
      await dropFile(page, await page.evaluateHandle(bigFileExpression()));
      await visible(item, `upload entry li.upload[data-name=${BIG_NAME}] after the drop`, 20_000);
      check((await item.locator('button.cancel').count()) === 1, 'the running upload has no button.cancel');
      const fractions = [];
      const totals = [];
      let screenshotTaken = false;
      const firstDeadline = Date.now() + 150_000;
      let last;
      for (;;) {
        last = await sample();
        check(last, 'the upload entry vanished');
        check(last.state !== 'error' && last.state !== 'cancelled', `upload ended in state ${last.state}`);
        check(last.state !== 'done', `the upload finished before it reached 25% in a sample (samples ${fractions.map((f) => f.toFixed(3)).join(' ')}): raise HAFEN_E2E_BIG_MB`);
        check(last.fraction !== null, 'li.upload has no <progress> with max > 0');
        if (fractions.length === 0 || last.fraction !== fractions[fractions.length - 1]) fractions.push(last.fraction);
        if (last.total !== null) totals.push(last.total);
        if (!screenshotTaken && last.fraction >= 0.1) {
          await screenshot(page, 'upload.png');
          screenshotTaken = true;
        }
        if (last.fraction >= 0.25) break;
        check(Date.now() < firstDeadline, `the upload did not reach 25% in 150s (at ${(last.fraction * 100).toFixed(1)}%)`);
        await sleep(100);
      }
      log(`  progress samples: ${fractions.map((f) => (f * 100).toFixed(1) + '%').join(' ')}`);
      for (let i = 1; i < fractions.length; i++) {
        check(fractions[i] >= fractions[i - 1], `progress went backwards: ${fractions.join(' ')}`);
      }
      const shown = await page.evaluate(() => {
        clearInterval(window.__hafenBigProgressTimer);
        return window.__hafenBigProgress || [];
      });
      for (let i = 1; i < shown.length; i++) {
        check(shown[i] >= shown[i - 1], `the bar went backwards: ${shown.join(' ')}`);
      }
      const rising = shown.filter((f) => f > 0 && f <= last.fraction);
      log(`  the bar showed ${rising.length} rising values up to ${(last.fraction * 100).toFixed(1)}%`);
      check(rising.length >= 3, `progress rose in fewer than 3 steps before 25%: ${shown.join(' ')}`);
      check(totals.some((t) => t > 0), '#upload-total progress never rose above 0');
      if (!screenshotTaken) await screenshot(page, 'upload.png');
      check(last.fraction < 0.9, `upload at ${(last.fraction * 100).toFixed(1)}% when reloading: too fast to test resuming`);
      log(`  reloading at ${(last.fraction * 100).toFixed(1)}%`);

      // Reload mid-upload, then drop the same file again: it resumes.
      await page.reload({ waitUntil: 'load' });
      attempt = 'second';
      check((await dataDir(page)) === '/Projekt', 'after the reload the page is not in /Projekt');
      await dropFile(page, await page.evaluateHandle(bigFileExpression()));
      await visible(item, `upload entry li.upload[data-name=${BIG_NAME}] after the second drop`, 20_000);
      let resumed = 0;
      let finalState;
      const secondDeadline = Date.now() + 180_000;
      for (;;) {
        const now = await sample();
        check(now, 'the upload entry vanished');
        resumed = Math.max(resumed, Number(now.resumed || 0));
        finalState = now.state;
        if (now.state === 'done' || now.state === 'error' || now.state === 'cancelled') break;
        check(Date.now() < secondDeadline, `the resumed upload did not finish in 180s (state ${now.state}, ${(now.fraction * 100).toFixed(1)}%)`);
        await sleep(250);
      }
      check(finalState === 'done', `the resumed upload ended in state ${finalState}`);
      log(`  resumed with ${resumed} of ${BIG_SIZE} bytes already on the server`);
      check(resumed > 0, 'the second upload did not resume: data-resumed-bytes is 0 or missing');
      check(resumed < BIG_SIZE, `data-resumed-bytes ${resumed} is not less than the file size ${BIG_SIZE}`);
      page.off('requestfinished', onFinished);
      await Promise.all(pending);
      const sum = (list) => list.reduce((total, bytes) => total + bytes, 0);
      const [firstBytes, secondBytes] = [sum(chunks.first), sum(chunks.second)];
      log(`  chunk PUTs: ${chunks.first.length} (${firstBytes} B) before the reload, ${chunks.second.length} (${secondBytes} B) after`);
      check(!Number.isNaN(firstBytes + secondBytes), 'a chunk PUT without Content-Length');
      check(chunks.first.length >= 2, `the first attempt completed ${chunks.first.length} chunk PUT(s) to /remote.php/dav/uploads/: not a chunked upload`);
      // One chunk of slack: the reload may abort a chunk the server had stored already.
      const slack = Math.max(0, ...chunks.first);
      check(firstBytes + slack >= resumed, `data-resumed-bytes ${resumed} exceeds the ${firstBytes} bytes of chunks completed before the reload (+ one chunk)`);
      check(secondBytes > 0, 'the second attempt sent no chunk');
      check(secondBytes <= BIG_SIZE - resumed, `the second attempt sent ${secondBytes} bytes, more than the ${BIG_SIZE - resumed} still missing`);

      // The server's copy, through WebDAV with Basic auth, against the same PRNG content.
      const response = await dav('GET', `Projekt/${BIG_NAME}`);
      check(response.ok, `WebDAV GET Projekt/${BIG_NAME} answered ${response.status}`);
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of response.body) {
        hash.update(chunk);
        size += chunk.length;
      }
      check(size === BIG_SIZE, `server copy has ${size} bytes, expected ${BIG_SIZE}`);
      check(hash.digest('hex') === digest, 'server copy has a different SHA-256 than the dropped file');
      await expectRow(page, BIG_NAME, 'file');
    },
    BIG_STEP_TIMEOUT,
  );

  await step('d', 'Ordner hochladen (#upload-folder) und einzelne Datei (#upload-files)', ['a'], async () => {
    const { page } = shared.admin;
    const base = path.join(shared.temp, 'folder');
    for (const [name, content] of Object.entries(FOLDER_FILES)) {
      mkdirSync(path.dirname(path.join(base, 'Mappe', name)), { recursive: true });
      writeFileSync(path.join(base, 'Mappe', name), content);
    }
    await goto(page, filesUrl('/'));
    check((await page.locator('#upload-folder').getAttribute('webkitdirectory')) !== null, '#upload-folder has no webkitdirectory attribute');
    await page.locator('#upload-folder').setInputFiles(path.join(base, 'Mappe'));
    const states = await waitUploadsSettled(page, Object.keys(FOLDER_FILES).length, 'folder upload');
    log(`  folder upload entries: ${states.map((s) => s.name).join(', ')}`);
    for (const [name, content] of Object.entries(FOLDER_FILES)) await expectDavFile(`Mappe/${name}`, content);
    await expectRow(page, 'Mappe', 'dir');

    const note = path.join(shared.temp, 'notiz.txt');
    writeFileSync(note, NOTE_CONTENT);
    await goto(page, filesUrl('/'));
    await page.locator('#upload-files').setInputFiles(note);
    await waitUploadsSettled(page, 1, 'file upload');
    await visible(page.locator('#uploads li.upload[data-name="notiz.txt"][data-state=done]'), 'li.upload[data-name=notiz.txt][data-state=done]');
    await expectDavFile('notiz.txt', NOTE_CONTENT);
    await expectRow(page, 'notiz.txt', 'file');
    await goto(page, filesUrl('/'));
    await screenshot(page, 'files.png');
  });

  await step('e', 'Umbenennen, verschieben, kopieren, löschen', ['d'], async () => {
    const { page } = shared.admin;
    await goto(page, filesUrl('/'));
    // Rename notiz.txt → bericht.txt.
    await settle(page, () => row(page, 'notiz.txt').locator('a.rename').click());
    await visible(page.locator('#rename-form'), 'rename form #rename-form');
    check(new URL(page.url()).searchParams.get('rename') === 'notiz.txt', `a.rename led to ${page.url()}`);
    await page.locator('#rename-to').fill('bericht.txt');
    await clickAndSettle(page, '#rename-submit');
    await expectFlash(page, 'renaming');
    await expectRow(page, 'bericht.txt', 'file');
    check((await row(page, 'notiz.txt').count()) === 0, 'notiz.txt still listed after renaming');
    await expectDavFile('bericht.txt', NOTE_CONTENT);

    // Move it into /Mappe.
    await selectRows(page, ['bericht.txt']);
    await setTarget(page, '/Mappe');
    await clickAndSettle(page, '#action-move');
    await expectFlash(page, 'moving');
    await expectNoRow(page, 'bericht.txt');
    await goto(page, filesUrl('/Mappe'));
    await expectRow(page, 'bericht.txt', 'file');
    await expectDavFile('Mappe/bericht.txt', NOTE_CONTENT);

    // Copy it from /Mappe to /Projekt.
    await selectRows(page, ['bericht.txt']);
    await setTarget(page, '/Projekt');
    await clickAndSettle(page, '#action-copy');
    await expectFlash(page, 'copying');
    await goto(page, filesUrl('/Mappe'));
    await expectRow(page, 'bericht.txt', 'file');
    await goto(page, filesUrl('/Projekt'));
    await expectRow(page, 'bericht.txt', 'file');
    await expectDavFile('Projekt/bericht.txt', NOTE_CONTENT);

    // Delete the copy in /Projekt.
    await selectRows(page, ['bericht.txt']);
    await clickAndSettle(page, '#action-delete');
    await expectFlash(page, 'deleting');
    await expectNoRow(page, 'bericht.txt');
    await expectDavMissing('Projekt/bericht.txt');
    await expectDavFile('Mappe/bericht.txt', NOTE_CONTENT);
  });

  const mappeFiles = { ...FOLDER_FILES, 'bericht.txt': NOTE_CONTENT };

  await step('f', 'Ordner als ZIP herunterladen', ['e'], async () => {
    const { page } = shared.admin;
    await goto(page, filesUrl('/'));
    await selectRows(page, ['Mappe']);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#action-zip').click()]);
    const suggested = download.suggestedFilename();
    check(/\.zip$/i.test(suggested), `ZIP download is named ${suggested}`);
    const file = await saveDownload(download, 'auswahl.zip');
    const selection = Object.fromEntries(Object.entries(mappeFiles).map(([name, content]) => [`Mappe/${name}`, content]));
    expectZip(zipEntries(file), selection, ['Mappe/', 'Mappe/unter/'], `#action-zip of the selection [Mappe] (${suggested})`);

    // The whole folder through GET /apps/files/zip?dir=/Mappe with the page's session.
    const response = await page.request.get(url(`/apps/files/zip?dir=${encodeURIComponent('/Mappe')}`));
    check(response.ok(), `GET /apps/files/zip?dir=/Mappe answered ${response.status()}`);
    check(/attachment/i.test(response.headers()['content-disposition'] || ''), 'folder ZIP without Content-Disposition: attachment');
    const whole = path.join(OUT, 'downloads', 'mappe.zip');
    writeFileSync(whole, await response.body());
    expectZip(zipEntries(whole), mappeFiles, ['unter/'], 'GET /apps/files/zip?dir=/Mappe');
  });

  await step('g', 'Freigabedialog: öffentlicher Link mit Passwort, in frischem Kontext öffnen', ['d'], async () => {
    const { page } = shared.admin;
    await openShareDialog(page, '/', 'Mappe');
    shared.shareDialogUrl = page.url();
    await screenshot(page, 'share.png');
    shared.readLink = await createLink(page, 'read', LINK_PASSWORD);

    const visitor = await newPage();
    try {
      await goto(visitor.page, shared.readLink, { allow: [401] }); // the password form may answer 401
      await visible(visitor.page.locator('#password'), 'password field #password on the public link');
      await visible(visitor.page.locator('#open'), 'button #open on the public link');
      check((await visitor.page.locator('#download-zip').count()) === 0, 'folder download offered before the password');
      await visitor.page.locator('#password').fill('falsches-Passwort');
      await clickAndSettle(visitor.page, '#open');
      check((await visitor.page.locator('#download-zip').count()) === 0, 'a wrong password opened the link');
      await visitor.page.locator('#password').fill(LINK_PASSWORD);
      await clickAndSettle(visitor.page, '#open');
      await visible(visitor.page.locator('#download-zip'), 'folder download button #download-zip after the password');
      for (const name of ['a.txt', 'b.txt', 'unter']) {
        await visible(visitor.page.getByText(name, { exact: true }), `entry ${name} in the public folder listing`);
      }
      await screenshot(visitor.page, 'public-link.png');
      const [download] = await Promise.all([visitor.page.waitForEvent('download'), visitor.page.locator('#download-zip').click()]);
      const file = await saveDownload(download, 'public-link.zip');
      const entries = zipEntries(file);
      for (const [name, content] of Object.entries(FOLDER_FILES)) {
        check(entries[name]?.equals(Buffer.from(content)), `public link ZIP: ${name} missing or different (entries ${Object.keys(entries).join(', ')})`);
      }
    } finally {
      await visitor.context.close();
    }
  });

  await step('h', 'Datei-Ablage-Link: in frischem Kontext hochladen, per WebDAV prüfen', ['a'], async () => {
    const { page } = shared.admin;
    await goto(page, filesUrl('/'));
    await page.locator('#mkdir-name').fill('Eingang');
    await clickAndSettle(page, '#mkdir-submit');
    await expectRow(page, 'Eingang', 'dir');
    await openShareDialog(page, '/', 'Eingang');
    shared.dropLink = await createLink(page, 'upload', null);

    const file = path.join(shared.temp, 'abgabe.txt');
    writeFileSync(file, DROP_CONTENT);
    const visitor = await newPage();
    try {
      await goto(visitor.page, shared.dropLink);
      await visible(visitor.page.locator('#files'), 'file field #files on the file-drop page');
      await visible(visitor.page.locator('#upload'), 'button #upload on the file-drop page');
      await screenshot(visitor.page, 'file-drop.png');
      await visitor.page.locator('#files').setInputFiles(file);
      await visitor.page.locator('#upload').click();
      const status = await poll('#status stays empty after #upload', 30_000, 200, async () => {
        const text = (await visitor.page.locator('#status').innerText()).trim();
        return text || null;
      });
      log(`  #status: "${status}"`);
      await poll('abgabe.txt did not arrive in /Eingang (WebDAV)', 15_000, 300, async () => {
        const response = await dav('GET', 'Eingang/abgabe.txt');
        return response.ok && (await response.text()) === DROP_CONTENT;
      });
    } finally {
      await visitor.context.close();
    }
  });

  await step('i', 'Administration: Organisation und Benutzer anlegen, als dieser anmelden', ['a'], async () => {
    const { page } = shared.admin;
    await goto(page, url('/admin'));
    await page.locator('#new-org-name').fill(ORG.name);
    await page.locator('#new-org-display').fill(ORG.display);
    await clickAndSettle(page, '#new-org-submit');
    await visible(page.locator('#org-list').getByText(ORG.name), `organisation ${ORG.name} in #org-list`);

    await page.locator('#new-user-name').fill(MEMBER.name);
    await page.locator('#new-user-display').fill(MEMBER.display);
    await page.locator('#new-user-email').fill(MEMBER.email);
    await page.locator('#new-user-password').fill(MEMBER.password);
    const options = await page.locator('#new-user-org option').evaluateAll((items) => items.map((o) => ({ value: o.value, label: o.textContent.trim() })));
    const option = options.find((o) => o.value === ORG.name) || options.find((o) => o.label.includes(ORG.name) || o.label.includes(ORG.display));
    check(option, `organisation ${ORG.name} is not offered in #new-user-org: ${JSON.stringify(options)}`);
    await page.locator('#new-user-org').selectOption(option.value);
    await clickAndSettle(page, '#new-user-submit');
    const userRow = page.locator(`#user-table tr[data-name=${attr(MEMBER.name)}]`);
    await visible(userRow, `user row #user-table tr[data-name=${MEMBER.name}]`);
    const rowText = await userRow.innerText();
    check(rowText.includes(ORG.name) || rowText.includes(ORG.display), `user row does not name the organisation: "${rowText}"`);
    await screenshot(page, 'admin.png');

    const member = await newPage();
    try {
      await login(member.page, MEMBER.name, MEMBER.password);
      check((await member.page.locator('#nav-admin').count()) === 0, 'a plain user sees #nav-admin');
      const adminPage = await member.page.goto(url('/admin'));
      check(adminPage.status() === 403 || adminPage.status() === 404 || new URL(member.page.url()).pathname !== '/admin',
        `a plain user opened /admin (status ${adminPage.status()})`);
    } finally {
      await member.context.close();
    }
  });

  await step('j', 'Sprache wechseln: Englisch und zurück zu Deutsch', ['a'], async () => {
    const { page } = shared.admin;
    // In a folder, to see that the form brings the user back to the same page (field `back`).
    const dir = passed.has('b') ? '/Projekt' : '/';
    try {
      await goto(page, filesUrl(dir));
      check((await htmlLang(page)) === 'de', `<html lang> is ${await htmlLang(page)} before switching`);
      check((await page.locator('#nav-files').innerText()).includes('Dateien'), `#nav-files is "${await page.locator('#nav-files').innerText()}" in German`);
      for (const [lang, word] of [['en', 'Files'], ['de', 'Dateien']]) {
        await page.locator('#language').selectOption(lang);
        await clickAndSettle(page, '#language-submit');
        check((await htmlLang(page)) === lang, `after choosing ${lang}, <html lang> is ${await htmlLang(page)}`);
        const nav = (await page.locator('#nav-files').innerText()).trim();
        check(nav.includes(word), `after choosing ${lang}, #nav-files reads "${nav}", expected "${word}"`);
        check(isFilesPath(page.url()), `after choosing ${lang}, the page is ${page.url()} instead of the file browser`);
        check((await dataDir(page)) === dir, `after choosing ${lang}, the file browser shows ${await dataDir(page)} instead of ${dir}`);
        check((await page.locator('#language').inputValue()) === lang, `#language shows ${await page.locator('#language').inputValue()}`);
      }
    } finally {
      // The later steps (and their screenshots) are in German whatever happened here.
      const cookies = await page.context().cookies();
      if (cookies.some((c) => c.name === 'hafen_lang' && c.value !== 'de')) {
        await page.context().addCookies([{ name: 'hafen_lang', value: 'de', url: BASE }]);
      }
    }
  });

  await step('k', 'Einstellungen: App-Passwort anlegen und per WebDAV benutzen', ['a'], async () => {
    const { page } = shared.admin;
    await goto(page, url('/settings'));
    await visible(page.locator('#app-password-name'), '#app-password-name');
    await screenshot(page, 'settings.png');
    await page.locator('#app-password-name').fill('E2E-Gerät');
    await clickAndSettle(page, '#app-password-submit');
    const token = page.locator('#new-app-password');
    await visible(token, '#new-app-password');
    const value = (await token.evaluate((el) => ('value' in el ? el.value : el.textContent) || '')).trim();
    check(value.length >= 16, `#new-app-password holds ${JSON.stringify(value)}`);
    await visible(page.locator('#app-passwords li').filter({ hasText: 'E2E-Gerät' }), 'the new app password in #app-passwords');
    const response = await dav('PROPFIND', '', { password: value, headers: { Depth: '0' } });
    await response.arrayBuffer();
    check(response.status === 207, `PROPFIND with the new app password answered ${response.status}`);
    shared.appPassword = value;
  });

  await step('l', 'Nur Tastatur: anmelden, hochladen, Link anlegen, herunterladen', [], async () => {
    const { context, page } = await newPage();
    // Playwright intercepts file choosers only once a listener exists, and switching that on is
    // asynchronous: registering it now, long before the key press, avoids a race in which the
    // chooser opens natively (and is dismissed) instead.
    page.on('filechooser', () => {});
    try {
      const keys = page.keyboard;
      await goto(page, url('/login'));
      await tabTo(page, '#user');
      await keys.type(ADMIN);
      await tabTo(page, '#password');
      await keys.type(ADMIN_PASSWORD);
      await tabTo(page, '#user', { backwards: true, max: 5 }); // Shift+Tab goes back
      await tabTo(page, '#login', { max: 10 });
      await settle(page, () => keys.press('Enter'));
      check(isFilesPath(page.url()), `keyboard login led to ${page.url()}`);

      const file = path.join(shared.temp, 'tastatur.txt');
      writeFileSync(file, KEYBOARD_CONTENT);
      await tabTo(page, '#upload-files');
      const [chooser] = await Promise.all([page.waitForEvent('filechooser', { timeout: 5_000 }), keys.press('Space')]);
      await chooser.setFiles(file);
      await poll('keyboard upload of tastatur.txt did not finish', 30_000, 200, async () =>
        (await uploadStates(page)).some((u) => u.name === 'tastatur.txt' && u.state === 'done'),
      );
      await expectDavFile('tastatur.txt', KEYBOARD_CONTENT);
      if ((await row(page, 'tastatur.txt').count()) === 0) {
        log('  row tastatur.txt not shown without a reload; reloading (as F5 would)');
        await page.reload({ waitUntil: 'load' });
      }
      await visible(row(page, 'tastatur.txt'), 'row tastatur.txt');

      // Share page of the file, a public link, by keyboard.
      await tabTo(page, `#file-table tr[data-name="tastatur.txt"] a.share`);
      await settle(page, () => keys.press('Enter'));
      check(new URL(page.url()).pathname === '/apps/files/share', `Enter on a.share led to ${page.url()}`);
      const before = new Set(await shareIds(page));
      await tabTo(page, '#link-kind');
      for (let i = 0; i < 5 && (await page.locator('#link-kind').inputValue()) !== 'read'; i++) await keys.press('ArrowUp');
      check((await page.locator('#link-kind').inputValue()) === 'read', '#link-kind cannot be set to read by keyboard');
      await tabTo(page, '#link-submit');
      await settle(page, () => keys.press('Enter'));
      const id = await poll('no new share after #link-submit by keyboard', 10_000, 200, async () =>
        (await shareIds(page)).find((candidate) => !before.has(candidate)) ?? null,
      );
      checkLinkUrl(await page.locator(`#share-list li[data-share-id=${attr(id)}] input.link-url`).inputValue(), 'keyboard');

      // Back to the file browser and download by keyboard.
      await tabTo(page, '#nav-files');
      await settle(page, () => keys.press('Enter'));
      check(isFilesPath(page.url()), `Enter on #nav-files led to ${page.url()}`);
      await tabTo(page, `#file-table tr[data-name="tastatur.txt"] a.download`);
      const [download] = await Promise.all([page.waitForEvent('download'), keys.press('Enter')]);
      const saved = await saveDownload(download, 'tastatur.txt');
      check(readFileSync(saved, 'utf8') === KEYBOARD_CONTENT, 'keyboard download has different content');
    } finally {
      await context.close();
    }
  });

  await step('m', 'Barrierefreiheit (axe, WCAG 2.1 A/AA): keine schweren oder kritischen Verstöße', ['a'], async () => {
    const anonymous = await newPage();
    try {
      await goto(anonymous.page, url('/login'));
      await axeCheck(anonymous.page, 'login');
      await anonymous.page.locator('#user').fill(ADMIN);
      await anonymous.page.locator('#password').fill('definitely-wrong-password');
      await clickAndSettle(anonymous.page, '#login');
      await axeCheck(anonymous.page, 'login with an error');
      await goto(anonymous.page, url('/accessibility'));
      await axeCheck(anonymous.page, 'accessibility statement (anonymous)');
    } finally {
      await anonymous.context.close();
    }

    const { page } = shared.admin;
    const pages = [
      ['file browser', filesUrl('/')],
      ['file browser in a folder', filesUrl('/Mappe')],
      ['file browser with the rename form', `${filesUrl('/')}&rename=Mappe`],
      ['share dialog', shared.shareDialogUrl ?? url(`/apps/files/share?path=${encodeURIComponent('/Mappe')}`)],
      ['shared view', url('/apps/files/shared')],
      ['settings', url('/settings')],
      ['administration', url('/admin')],
      ['accessibility statement', url('/accessibility')],
    ];
    for (const [label, address] of pages) {
      try {
        await goto(page, address);
        await axeCheck(page, label);
      } catch (error) {
        problem(`axe ${label}: could not open ${address}: ${firstLine(error)}`);
      }
    }

    const visitor = await newPage();
    try {
      if (shared.readLink) {
        await goto(visitor.page, shared.readLink, { allow: [401] }); // the password form may answer 401
        await axeCheck(visitor.page, 'public link password form');
        await visitor.page.locator('#password').fill(LINK_PASSWORD);
        await clickAndSettle(visitor.page, '#open');
        await visible(visitor.page.locator('#download-zip'), '#download-zip');
        await axeCheck(visitor.page, 'public link folder listing');
      } else {
        problem('no public link to check (step g failed)');
      }
      if (shared.dropLink) {
        await goto(visitor.page, shared.dropLink);
        await axeCheck(visitor.page, 'file-drop page');
      } else {
        problem('no file-drop link to check (step h failed)');
      }
    } finally {
      await visitor.context.close();
    }
  });

  await step('n', 'Bildschirmfotos (Desktop 1280×800, Telefon 390×844)', ['a'], async () => {
    const phone = await newContext({
      viewport: PHONE,
      isMobile: true,
      hasTouch: true,
      storageState: await shared.admin.context.storageState(),
    });
    try {
      const page = await phone.newPage();
      await goto(page, filesUrl('/'));
      await visible(page.locator('#file-table'), '#file-table on a phone');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      await screenshot(page, 'files-phone.png');
      check(overflow <= 1, `the file browser is ${overflow}px wider than a 390px phone screen (horizontal scrolling)`);
    } finally {
      await phone.close();
    }
    const expected = ['login.png', 'files.png', 'upload.png', 'share.png', 'public-link.png', 'file-drop.png', 'settings.png', 'admin.png', 'files-phone.png'];
    const missing = expected.filter((name) => !existsSync(path.join(SHOTS, name)) || !shared.shots.has(name) || statSync(path.join(SHOTS, name)).size < 1000);
    check(missing.length === 0, `screenshots missing (their steps failed): ${missing.join(', ')}`);
  });

  await step('o', 'Weitere Vertragsprüfungen: Filter, Sortierung, Teilen mit Person, Freigabe entfernen, App-Passwort widerrufen, Abmelden', ['a'], async () => {
    const { page } = shared.admin;
    // Each check on its own: a failure is recorded and the next check runs.
    const part = async (what, needs, body) => {
      const missing = needs.filter((need) => !passed.has(need));
      if (missing.length > 0) return problem(`${what}: not checked, needs step(s) ${missing.join(', ')}`);
      try {
        await body();
        log(`  ok: ${what}`);
      } catch (error) {
        problem(`${what}: ${error instanceof CheckFailed ? error.message : firstLine(error)}`);
      }
    };
    const listed = () => page.locator('#file-table tr[data-name]').evaluateAll((rows) => rows.map((r) => ({ name: r.dataset.name, type: r.dataset.type })));

    await part('filter (#filter, #filter-submit)', ['d'], async () => {
      await goto(page, filesUrl('/'));
      await page.locator('#filter').fill('Mapp');
      await clickAndSettle(page, '#filter-submit');
      check(new URL(page.url()).searchParams.get('filter') === 'Mapp', `the filter form led to ${page.url()}`);
      const names = (await listed()).map((r) => r.name);
      check(names.length === 1 && names[0] === 'Mappe', `filter "Mapp" lists ${JSON.stringify(names)}`);
    });

    await part('sorting (th a, sort=name order=asc|desc)', ['d'], async () => {
      await goto(page, filesUrl('/'));
      const links = await page.locator('#file-table th a').evaluateAll((as) => as.map((a) => a.href));
      for (const key of ['name', 'size', 'mtime']) {
        check(links.some((href) => new URL(href).searchParams.get('sort') === key), `no sort link (th a) for ${key}: ${links.join(' ')}`);
      }
      const order = async (direction) => {
        await goto(page, `${filesUrl('/')}&sort=name&order=${direction}`);
        return listed();
      };
      // Within folders and within files (folders may come first either way), names are in order.
      const collator = new Intl.Collator('de');
      for (const [direction, sign] of [['asc', 1], ['desc', -1]]) {
        const rows = await order(direction);
        for (const type of ['dir', 'file']) {
          const names = rows.filter((r) => r.type === type).map((r) => r.name);
          const sorted = [...names].sort((x, y) => sign * collator.compare(x, y));
          check(JSON.stringify(names) === JSON.stringify(sorted), `sort=name order=${direction}: ${type} rows ${names.join(', ')}`);
        }
      }
    });

    await part('share with a user (#share-with suggestions, #share-submit, recipient\'s shared view)', ['d', 'i'], async () => {
      await openShareDialog(page, '/', 'Mappe');
      const before = new Set(await shareIds(page));
      await page.locator('#share-with').pressSequentially(MEMBER.name.slice(0, 5), { delay: 60 });
      const suggestion = await poll(`no suggestion for "${MEMBER.name.slice(0, 5)}" in #sharee-options`, 10_000, 200, async () => {
        const values = await page.locator('#sharee-options option').evaluateAll((os) => os.map((o) => o.value));
        return values.find((value) => value.includes(MEMBER.name)) ?? null;
      });
      check(suggestion === `user:${MEMBER.name}`, `the suggestion for ${MEMBER.name} is ${JSON.stringify(suggestion)}, expected user:${MEMBER.name}`);
      await page.locator('#share-with').fill(suggestion);
      await clickAndSettle(page, '#share-submit');
      await expectFlash(page, 'sharing with a user');
      await poll('no new entry in #share-list after #share-submit', 10_000, 200, async () =>
        (await shareIds(page)).find((id) => !before.has(id)) ?? null,
      );
      const member = await newPage();
      try {
        await login(member.page, MEMBER.name, MEMBER.password);
        await goto(member.page, url('/apps/files/shared'));
        await visible(member.page.locator('main').getByText('Mappe').first(), `the share Mappe in ${MEMBER.name}'s /apps/files/shared`);
        await axeCheck(member.page, 'shared view of a recipient');
      } finally {
        await member.context.close();
      }
    });

    await part('remove a link (button.unshare)', ['h'], async () => {
      await openShareDialog(page, '/', 'Eingang');
      const token = new URL(shared.dropLink).pathname;
      const id = await page.locator('#share-list li[data-share-id]').evaluateAll(
        (items, wanted) => items.find((li) => new URL(li.querySelector('input.link-url')?.value || 'x:', location.href).pathname === wanted)?.dataset.shareId ?? null,
        token,
      );
      check(id, `the file-drop link ${token} is not listed in #share-list`);
      await settle(page, () => page.locator(`#share-list li[data-share-id=${attr(id)}] button.unshare`).click());
      check((await page.locator(`#share-list li[data-share-id=${attr(id)}]`).count()) === 0, 'the link is still listed after button.unshare');
      const response = await fetch(shared.dropLink);
      await response.arrayBuffer();
      check(response.status === 404 || response.status === 410, `the removed link still answers ${response.status}`);
    });

    await part('revoke an app password (button.revoke)', ['k'], async () => {
      await goto(page, url('/settings'));
      const item = page.locator('#app-passwords li').filter({ hasText: 'E2E-Gerät' });
      await visible(item, 'the app password E2E-Gerät in #app-passwords');
      await settle(page, () => item.locator('button.revoke').click());
      check((await page.locator('#app-passwords li').filter({ hasText: 'E2E-Gerät' }).count()) === 0, 'the app password is still listed after button.revoke');
      const response = await dav('PROPFIND', '', { password: shared.appPassword, headers: { Depth: '0' } });
      await response.arrayBuffer();
      check(response.status === 401, `PROPFIND with the revoked app password answered ${response.status}`);
    });

    await part('a drop anywhere on main uploads too', ['b'], async () => {
      await goto(page, filesUrl('/Projekt'));
      const content = 'Auf main abgelegt.\n';
      const file = await page.evaluateHandle((text) => new File([text], 'abgelegt.txt', { type: 'text/plain' }), content);
      const dataTransfer = await page.evaluateHandle((f) => {
        const transfer = new DataTransfer();
        transfer.items.add(f);
        return transfer;
      }, file);
      const heading = page.locator('main h1').first();
      for (const type of ['dragenter', 'dragover', 'drop']) await heading.dispatchEvent(type, { dataTransfer });
      await poll('the file dropped on main h1 was not uploaded', 20_000, 200, async () =>
        (await uploadStates(page)).some((u) => u.name === 'abgelegt.txt' && u.state === 'done'),
      );
      await expectDavFile('Projekt/abgelegt.txt', content);
    });

    await part('accessibility statement link (#nav-accessibility)', [], async () => {
      await goto(page, filesUrl('/'));
      await clickAndSettle(page, '#nav-accessibility');
      check(new URL(page.url()).pathname === '/accessibility', `#nav-accessibility led to ${page.url()}`);
      await visible(page.locator('h1'), 'a heading on /accessibility');
    });

    await part('logout (#logout)', [], async () => {
      const session = await newPage();
      try {
        await login(session.page, ADMIN, ADMIN_PASSWORD);
        await clickAndSettle(session.page, '#logout');
        check(new URL(session.page.url()).pathname === '/login', `#logout led to ${session.page.url()}`);
        await goto(session.page, filesUrl('/'));
        check(new URL(session.page.url()).pathname === '/login', `after logout, /apps/files/ showed ${session.page.url()}`);
      } finally {
        await session.context.close();
      }
    });
  });

  // Issue 8: an overwrite keeps the previous version; the versions panel restores it.
  await step('p', 'Versionen: zwei Stände speichern, im Versionsbereich den älteren wiederherstellen', ['a'], async () => {
    const { page } = shared.admin;
    for (const content of ['Erster Stand', 'Zweiter Stand']) {
      const response = await dav('PUT', '/Versionen.txt', { body: content });
      check(response.ok, `PUT /Versionen.txt answered ${response.status}`);
    }
    await goto(page, filesUrl('/'));
    await clickAndSettle(page, `tr[data-name="Versionen.txt"] a.versions`);
    check(new URL(page.url()).pathname === '/apps/files/versions', `the versions link led to ${page.url()}`);
    const rows = page.locator('#version-table tbody tr');
    check((await rows.count()) === 2, `the panel lists ${await rows.count()} versions, expected 2`);
    check((await rows.first().getAttribute('data-current')) === 'true', 'the first row is not the current version');
    await axeCheck(page, 'versions panel');
    await clickAndSettle(page, '#version-table tbody tr:not([data-current]) button.restore');
    await expectFlash(page, 'restoring a version');
    await expectDavFile('/Versionen.txt', 'Erster Stand');
    check((await page.locator('#version-table tbody tr').count()) === 3, 'the replaced state is not kept as a version');
    await screenshot(page, 'versions.png');
  });

  // Issue 8: deleting moves to the trash; the trash page restores the item to its place.
  await step('q', 'Papierkorb: Datei löschen, im Papierkorb wiederherstellen', ['a'], async () => {
    const { page } = shared.admin;
    const response = await dav('PUT', '/Entwurf.txt', { body: 'Entwurf für den Papierkorb' });
    check(response.ok, `PUT /Entwurf.txt answered ${response.status}`);
    await goto(page, filesUrl('/'));
    await selectRows(page, ['Entwurf.txt']);
    await clickAndSettle(page, '#action-delete');
    await expectFlash(page, 'deleting into the trash');
    await expectNoRow(page, 'Entwurf.txt');
    await expectDavMissing('/Entwurf.txt');
    await clickAndSettle(page, '#nav-trash');
    const item = page.locator('#trash-table tr[data-name="Entwurf.txt"]');
    await visible(item, 'the deleted file in the trash');
    await axeCheck(page, 'trash');
    await screenshot(page, 'trash.png');
    await clickAndSettle(page, '#trash-table tr[data-name="Entwurf.txt"] button.restore');
    await expectFlash(page, 'restoring from the trash');
    await expectDavFile('/Entwurf.txt', 'Entwurf für den Papierkorb');
    check((await page.locator('#trash-table tr[data-name="Entwurf.txt"]').count()) === 0, 'the restored item is still in the trash');
  });

  // Favourites, comments and tags, activity: the star toggles, the details page adds a comment
  // and a tag, the activity stream shows and filters it; every new page passes axe.
  await step('r', 'Favoriten, Kommentare und Schlagworte, Aktivität', ['a'], async () => {
    const { page } = shared.admin;
    const response = await dav('PUT', '/Besprechung.txt', { body: 'Tagesordnung' });
    check(response.ok, `PUT /Besprechung.txt answered ${response.status}`);
    await goto(page, filesUrl('/'));
    const star = 'tr[data-name="Besprechung.txt"] button.favorite';
    check((await page.locator(star).getAttribute('aria-pressed')) === 'false', 'the new file is a favourite already');
    await clickAndSettle(page, star);
    await expectFlash(page, 'adding a favourite');
    check((await page.locator(star).getAttribute('aria-pressed')) === 'true', 'the star is not pressed after adding the favourite');
    await clickAndSettle(page, '#nav-favorites');
    await visible(page.locator('#favorites-table tr[data-path="/Besprechung.txt"]'), 'the favourite in the favourites view');
    await axeCheck(page, 'favourites');

    await goto(page, filesUrl('/'));
    await clickAndSettle(page, 'tr[data-name="Besprechung.txt"] a.details');
    check(new URL(page.url()).pathname === '/apps/files/comments', `the details link led to ${page.url()}`);
    await axeCheck(page, 'comments and tags (none yet)');
    await page.locator('#comment-message').fill(`Bitte ergänzen, @${ADMIN}.`);
    await clickAndSettle(page, '#comment-submit');
    await expectFlash(page, 'adding a comment');
    await visible(page.locator('#comment-list .mention'), 'the mention in the new comment');
    await page.locator('#new-tag').fill(`Besprechung ${RUN}`);
    await clickAndSettle(page, '#new-tag-submit');
    await expectFlash(page, 'creating a tag');
    await visible(page.locator('#tag-list .tag-name', { hasText: `Besprechung ${RUN}` }), 'the new tag');
    await axeCheck(page, 'comments and tags');
    await clickAndSettle(page, '#comment-list a.edit-comment');
    await visible(page.locator('#edit-message'), 'the edit form of the comment');
    await axeCheck(page, 'comment being edited');
    await screenshot(page, 'comments.png');

    await clickAndSettle(page, '#nav-activity');
    await visible(page.locator('#activity-list li[data-kind="comment"]').first(), 'the comment in the activity stream');
    await axeCheck(page, 'activity and notifications');
    await page.locator('#activity-filter').selectOption('comments');
    await clickAndSettle(page, '#activity-filter-submit');
    check((await page.locator('#activity-list li:not([data-kind="comment"])').count()) === 0, 'the comment filter shows other kinds');
    await screenshot(page, 'activity.png');
  });
}

// ---------------------------------------------------------------------------------------------

const watchdog = setTimeout(() => {
  console.log(`web.mjs: the whole run exceeded ${DEADLINE_S}s; aborting (running step: ${current ? current.id : 'none'})`);
  process.exit(1);
}, DEADLINE_S * 1000);

let exitCode = 0;
try {
  await main();
} catch (error) {
  console.log(`web.mjs: harness error: ${error?.stack || error}`);
  exitCode = 1;
} finally {
  await browser?.close().catch(() => {});
  if (shared.temp) rmSync(shared.temp, { recursive: true, force: true });
}
clearTimeout(watchdog);

console.log('\n==== Hafen web UI end-to-end summary');
for (const result of results) {
  console.log(`${result.status.padEnd(4)} [${result.id}] ${result.title}`);
  if (result.status !== 'PASS') for (const text of result.detail) console.log(indent(text, '       '));
}
if (strayProblems.length > 0) {
  console.log('FAIL problems reported outside any step:');
  for (const text of strayProblems) console.log(`       ${text}`);
}
const failed = results.filter((r) => r.status !== 'PASS' && r.status !== 'OFF');
if (failed.length > 0 || strayProblems.length > 0 || exitCode !== 0) {
  console.log(`==== ${failed.length} of ${results.length} steps did not pass (${elapsed()})`);
  process.exit(1);
}
console.log(`==== all ${results.filter((r) => r.status === "PASS").length} steps passed (${elapsed()})`);
process.exit(0);
