// The operator's dashboard in a real browser (issue 7, "Tested in a real
// browser"): Debian's chromium driven by playwright-core against the real
// command center and a real node agent.
//
// An operator opens the dashboard while a new node waits for approval
// (red: no heartbeat yet), follows the node from a second tab, approves
// it and queues agent-info through the page's forms, and sees the result
// appear without a reload; meanwhile the first tab shows the node's
// attention change (red to green once the scheduler's scan comes back)
// without a reload. No console errors in either tab. Screenshots of both
// pages go to build/artifacts/.
//
// Run: tests/browser/run.sh (installs what is missing), or
//   VM_BIN_DIR=build node --test tests/browser/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const BIN = path.resolve(process.env.VM_BIN_DIR || path.join(REPO, 'build'));
const ARTIFACTS = path.resolve(process.env.VM_ARTIFACTS ||
    path.join(REPO, 'build', 'artifacts'));
const CHROMIUM = process.env.VM_CHROMIUM || '/usr/bin/chromium';
const SECRET = 'browser-test-secret-9f2';
const WAIT = 30_000;

const procs = [];
let tmp, cc, agent, browser, ccUrl;

// A daemon whose output is kept (and written to tmp/<name>.log).
function daemon(name, file, env) {
	const log = fs.createWriteStream(path.join(tmp, `${name}.log`));
	const p = spawn(file, [], {
		env: { PATH: process.env.PATH, ...env },
		cwd: tmp,
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	p.output = '';
	for (const s of [p.stdout, p.stderr])
		s.on('data', (d) => { p.output += d; log.write(d); });
	p.on('exit', () => log.end());
	procs.push(p);
	return p;
}

async function until(what, fn, timeout = WAIT) {
	const end = Date.now() + timeout;
	for (;;) {
		const v = await fn();
		if (v)
			return v;
		if (Date.now() > end)
			throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

// A scan tree that gives no critical or high finding.
function scanTree() {
	const root = path.join(tmp, 'scanroot');
	fs.mkdirSync(path.join(root, 'etc', 'ssh'), { recursive: true });
	fs.copyFileSync(path.join(REPO, 'tests', 'e2e', 'agent_fixtures',
	    'scan-good', 'etc', 'ssh', 'sshd_config'),
	    path.join(root, 'etc', 'ssh', 'sshd_config'));
	return root;
}

before(async () => {
	tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vm-browser-'));
	fs.mkdirSync(ARTIFACTS, { recursive: true });
	cc = daemon('cc', path.join(BIN, 'vaultmesh-command-center'), {
		VAULTMESH_LISTEN: '127.0.0.1:0',
		VAULTMESH_DB: path.join(tmp, 'cc.db'),
		VAULTMESH_CC_KEY_PATH: path.join(tmp, 'cc.key'),
		VAULTMESH_ENROLL_SECRET: SECRET,
		VAULTMESH_SCHEDULER_TICK_SECONDS: '1',
		VAULTMESH_LOG: 'debug',
	});
	const port = await until('the command center to listen', () => {
		const m = cc.output.match(/event=listening addr=127\.0\.0\.1:(\d+)/);
		if (cc.exitCode !== null)
			throw new Error(`command center exited:\n${cc.output}`);
		return m && m[1];
	}, 10_000);
	ccUrl = `http://127.0.0.1:${port}`;
	// No secret: the node waits for an operator's approval.
	agent = daemon('agent', path.join(BIN, 'vaultmesh-node-agent'), {
		VAULTMESH_CC_URL: ccUrl,
		VAULTMESH_ROOT: path.join(tmp, 'agent-root'),
		VAULTMESH_HEARTBEAT_SECS: '1',
		VAULTMESH_BACKOFF_MAX_SECS: '1',
		VAULTMESH_OS_PROFILE: 'ArchVault',
		VAULTMESH_SERVICES: '',
		VAULTMESH_SCAN_ROOT: scanTree(),
		VAULTMESH_SCAN_PACKAGES: 'none',
		VAULTMESH_CLOUDFLARED_METRICS: '127.0.0.1:9',
		VAULTMESH_LOG: 'debug',
	});
	// launch() gives the browser a fresh temporary profile of its own.
	browser = await chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic',
		    '--no-first-run', '--disable-background-networking',
		    '--disable-component-update', '--disable-sync'],
	});
});

after(async () => {
	if (browser)
		await browser.close();
	for (const p of procs)
		if (p.exitCode === null && p.signalCode === null)
			p.kill('SIGTERM');
	// Both stop within seconds of SIGTERM; a hung one is killed and fails.
	const hung = [];
	await Promise.all(procs.map((p) => p.exitCode !== null ||
	    p.signalCode !== null ? null : new Promise((r) => {
		const t = setTimeout(() => {
			hung.push(p.spawnfile);
			p.kill('SIGKILL');
		}, 10_000);
		p.on('exit', () => { clearTimeout(t); r(); });
	})));
	assert.deepEqual(hung, [], 'daemons that ignored SIGTERM');
	for (const p of procs)
		assert.equal(p.exitCode, 0, `${p.spawnfile} exit status`);
	for (const p of procs)
		assert.doesNotMatch(p.output, /AddressSanitizer|runtime error:/,
		    'a sanitizer report in a daemon log');
	if (tmp && !process.env.VM_KEEP_TMP)
		fs.rmSync(tmp, { recursive: true, force: true });
});

// Fails the test on any console error or uncaught exception.
function watch(page, errors) {
	page.on('console', (m) => {
		if (m.type() === 'error')
			errors.push(`${page.url()}: ${m.text()}`);
	});
	page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
	page.on('requestfailed', (r) => {
		// A poll cut short by navigation is not a failure.
		if (!/ERR_ABORTED/.test(r.failure()?.errorText || ''))
			errors.push(`${r.url()}: ${r.failure()?.errorText}`);
	});
}

// A mark in the window: gone after any reload or navigation.
async function mark(page) {
	await page.evaluate(() => { window.vmNoReload = 'still here'; });
}
async function assertNoReload(page) {
	assert.equal(await page.evaluate(() => window.vmNoReload), 'still here',
	    'the page was reloaded');
}

test('an operator sees the fleet and a node change live', async () => {
	const ctx = await browser.newContext({
		viewport: { width: 1280, height: 900 },
	});
	const errors = [];
	const dash = await ctx.newPage();
	watch(dash, errors);

	// The dashboard, with the node waiting for approval: red.
	await dash.goto(`${ccUrl}/`);
	const row = dash.locator('#nodes tbody tr', { has:
	    dash.locator('a[href^="/nodes/"]') });
	await row.first().waitFor({ timeout: WAIT });
	assert.equal(await row.count(), 1);
	const badge = row.first().locator('.badge');
	await until('the pending node to show RED on the dashboard', async () =>
	    (await badge.textContent()) === 'RED');
	assert.match(await row.first().textContent(), /pending/);
	assert.match(await row.first().textContent(), /heartbeat_stale/);
	assert.equal(await dash.locator(
	    `script[src^="/static/htmx-"]`).count(), 1);
	await mark(dash);

	// A second tab follows the node from the dashboard.
	const node = await ctx.newPage();
	watch(node, errors);
	await node.goto(`${ccUrl}/`);
	await node.locator('#nodes a[href^="/nodes/"]').first().click();
	await node.waitForURL(/\/nodes\/[0-9a-f-]{36}$/);
	await node.locator('#node-head').waitFor();
	await mark(node);

	// Approve through the form: the page changes in place.
	await node.locator('#enrollment button', { hasText: 'Approve' }).click();
	await until('the node page to show it approved', async () =>
	    /Status: approved/.test(await node.locator('#enrollment')
	    .textContent()));
	await assertNoReload(node);

	// Queue agent-info through its form; its result appears by itself.
	const run = node.locator('#run-agent-info button');
	await run.waitFor({ timeout: WAIT });
	await run.click();
	const cmdRow = node.locator('#commands tbody tr[id^="cmd-"]',
	    { hasText: 'agent-info' });
	await until('agent-info to be listed', async () =>
	    (await cmdRow.count()) === 1);
	const output = node.locator(
	    '#commands tr[id^="cmd-"]:has-text("agent-info") + tr.output pre');
	await until('agent-info to finish with its output', async () =>
	    /\bok\b/.test(await cmdRow.locator('td').nth(2).textContent()) &&
	    (await output.count()) === 1);
	const out = await output.textContent();
	assert.match(out, /agent_version|version/i, 'agent-info output shown');
	await assertNoReload(node);

	// The scheduler's scan turns the node green, on both pages, live.
	await until('the node page to show GREEN', async () =>
	    (await node.locator('#node-head .badge').textContent()) === 'GREEN');
	await until('the dashboard to show the node GREEN', async () =>
	    (await badge.textContent()) === 'GREEN');
	assert.match(await dash.locator('#summary').textContent(),
	    /Green fleet/);
	await assertNoReload(dash);
	await assertNoReload(node);

	// The pictures are there: fleet history, load, memory, findings.
	assert.equal(await dash.locator('#history svg polygon').count(), 3);
	await until('the scan to show in the findings chart', async () =>
	    (await node.locator('#trend-findings svg g').count()) >= 1);
	assert.equal(await node.locator('#trend-load svg circle.dot').count(), 1);
	assert.equal(await node.locator('#trend-mem svg circle.dot').count(), 1);

	await dash.screenshot({ path: path.join(ARTIFACTS,
	    'dashboard.png'), fullPage: true });
	await node.screenshot({ path: path.join(ARTIFACTS, 'node.png'),
	    fullPage: true });
	// The same pages as a phone shows them.
	await dash.setViewportSize({ width: 390, height: 844 });
	await node.setViewportSize({ width: 390, height: 844 });
	await dash.screenshot({ path: path.join(ARTIFACTS,
	    'dashboard-phone.png'), fullPage: true });
	await node.screenshot({ path: path.join(ARTIFACTS, 'node-phone.png'),
	    fullPage: true });
	await ctx.close();
	assert.deepEqual(errors, [], 'console errors');
});

test('the dark scheme follows the browser preference', async () => {
	const ctx = await browser.newContext({ colorScheme: 'dark',
	    viewport: { width: 1280, height: 900 } });
	const errors = [];
	const page = await ctx.newPage();
	watch(page, errors);
	await page.goto(`${ccUrl}/`);
	const bg = await page.evaluate(() =>
	    getComputedStyle(document.body).backgroundColor);
	assert.equal(bg, 'rgb(17, 19, 22)', 'dark background');
	await page.screenshot({ path: path.join(ARTIFACTS,
	    'dashboard-dark.png'), fullPage: true });
	await ctx.close();
	assert.deepEqual(errors, [], 'console errors');
});
