// What the browser tests share: the real daemons (a command center and
// node agents on the loopback, in a temporary directory), Debian's
// chromium through playwright-core, waiting with a deadline, and the
// checks every page gets (console errors, axe-core, overflow).
//
// Not a test file itself: node's test runner only picks up *.test.mjs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { before, after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');
export const BIN = path.resolve(process.env.VM_BIN_DIR ||
    path.join(REPO, 'build'));
export const ARTIFACTS = path.resolve(process.env.VM_ARTIFACTS ||
    path.join(REPO, 'build', 'artifacts'));
export const CHROMIUM = process.env.VM_CHROMIUM || '/usr/bin/chromium';
export const SECRET = 'browser-test-secret-9f2';
export const WAIT = 30_000;

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

// Polls fn until it returns something truthy, or fails after timeout ms.
export async function until(what, fn, timeout = WAIT, every = 100) {
	const end = Date.now() + timeout;
	for (;;) {
		const v = await fn();
		if (v)
			return v;
		if (Date.now() > end)
			throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, every));
	}
}

export function shot(page, name) {
	return page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`),
	    fullPage: true });
}

// A scan tree under dir. Clean: no critical or high finding. Mixed: one
// finding of each of high, medium, low and info (sshd password logins
// and three scan.d rules), so a node page shows every severity.
export function scanTree(dir, kind = 'clean') {
	const root = path.join(dir, `scan-${kind}`);
	const ssh = path.join(root, 'etc', 'ssh');
	fs.mkdirSync(ssh, { recursive: true });
	fs.copyFileSync(path.join(REPO, 'tests', 'e2e', 'agent_fixtures',
	    'scan-good', 'etc', 'ssh', 'sshd_config'),
	    path.join(ssh, 'sshd_config'));
	if (kind === 'mixed') {
		fs.writeFileSync(path.join(ssh, 'sshd_config'),
		    'PermitRootLogin no\nPasswordAuthentication yes\n' +
		    'PermitEmptyPasswords no\n');
		const rules = path.join(root, 'etc', 'vaultmesh', 'scan.d');
		fs.mkdirSync(rules, { recursive: true });
		const rule = (id, severity, title) => ({ id, severity, title,
		    remediation: `Fix ${id} (a test rule).`,
		    check: { type: 'file_absent',
			path: `/etc/vaultmesh/${id}.conf` } });
		fs.writeFileSync(path.join(rules, 'test.json'), JSON.stringify({
			rules: [
				rule('test.medium', 'medium',
				    'A medium test finding'),
				rule('test.low', 'low', 'A low test finding'),
				rule('test.info', 'info',
				    'An informational test finding'),
			],
		}));
		fs.chmodSync(path.join(rules, 'test.json'), 0o644);
	}
	return root;
}

// A command center and its agents, in a temporary directory of their own.
export class Fleet {
	constructor() {
		this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vm-browser-'));
		this.procs = [];
		fs.mkdirSync(ARTIFACTS, { recursive: true });
	}

	// A daemon whose output is kept (and written to tmp/<name>.log).
	daemon(name, file, env) {
		const log = fs.createWriteStream(path.join(this.tmp,
		    `${name}.log`));
		const p = spawn(file, [], {
			env: { PATH: process.env.PATH, ...env },
			cwd: this.tmp,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		p.name = name;
		p.output = '';
		for (const s of [p.stdout, p.stderr])
			s.on('data', (d) => { p.output += d; log.write(d); });
		// 'close', not 'exit': output can still arrive after exit.
		// closed: every byte read and written to the log.
		p.closed = new Promise((r) => p.on('close',
		    () => log.end(r)));
		this.procs.push(p);
		return p;
	}

	async startCC(env = {}) {
		this.cc = this.daemon('cc', path.join(BIN,
		    'vaultmesh-command-center'), {
			VAULTMESH_LISTEN: '127.0.0.1:0',
			VAULTMESH_DB: path.join(this.tmp, 'cc.db'),
			VAULTMESH_CC_KEY_PATH: path.join(this.tmp, 'cc.key'),
			VAULTMESH_ENROLL_SECRET: SECRET,
			VAULTMESH_SCHEDULER_TICK_SECONDS: '1',
			VAULTMESH_LOG: 'debug',
			...env,
		});
		const port = await until('the command center to listen', () => {
			const m = this.cc.output.match(
			    /event=listening addr=127\.0\.0\.1:(\d+)/);
			if (this.cc.exitCode !== null)
				throw new Error('command center exited:\n' +
				    this.cc.output);
			return m && m[1];
		}, 10_000);
		this.url = `http://127.0.0.1:${port}`;
		return this.url;
	}

	// An agent; with secret: false it waits for an operator's approval.
	startAgent(name, { secret = true, scanRoot, env = {} } = {}) {
		const root = path.join(this.tmp, `${name}-root`);
		const p = this.daemon(name, path.join(BIN,
		    'vaultmesh-node-agent'), {
			VAULTMESH_CC_URL: this.url,
			VAULTMESH_ROOT: root,
			VAULTMESH_HEARTBEAT_SECS: '1',
			VAULTMESH_BACKOFF_MAX_SECS: '1',
			VAULTMESH_OS_PROFILE: 'ArchVault',
			VAULTMESH_SERVICES: '',
			VAULTMESH_SCAN_ROOT: scanRoot || scanTree(this.tmp),
			VAULTMESH_SCAN_PACKAGES: 'none',
			VAULTMESH_CLOUDFLARED_METRICS: '127.0.0.1:9',
			VAULTMESH_LOG: 'debug',
			...(secret ? { VAULTMESH_ENROLL_SECRET: SECRET } : {}),
			...env,
		});
		p.root = root;
		return p;
	}

	// The node id an agent created for itself (its state file).
	async nodeId(agent) {
		return until(`${agent.name}'s node id`, () => {
			try {
				const id = fs.readFileSync(path.join(agent.root,
				    'node_id'), 'utf8').trim();
				return /^[0-9a-f-]{36}$/.test(id) && id;
			} catch {
				return null;
			}
		}, 10_000);
	}

	// The operator API as a script uses it (JSON, no browser headers).
	async api(method, p, body) {
		const res = await fetch(`${this.url}${p}`, {
			method,
			headers: { Accept: 'application/json',
			    ...(body ? { 'Content-Type': 'application/json' } :
			    {}) },
			body: body ? JSON.stringify(body) : undefined,
		});
		const text = await res.text();
		let json = null;
		try {
			json = JSON.parse(text);
		} catch { /* not JSON */ }
		return { status: res.status, json, text };
	}

	async node(id) {
		const r = await this.api('GET', `/nodes/${id}`);
		return r.status === 200 ? r.json : null;
	}

	async commands(id) {
		const r = await this.api('GET', `/nodes/${id}/commands`);
		assert.equal(r.status, 200, r.text);
		return Array.isArray(r.json) ? r.json : r.json.commands;
	}

	// Both daemons stop within seconds of SIGTERM; a hung one is killed
	// and fails, as does a nonzero exit or a sanitizer report.
	async stop() {
		const procs = this.procs;
		for (const p of procs)
			if (p.exitCode === null && p.signalCode === null)
				p.kill('SIGTERM');
		const hung = [];
		await Promise.all(procs.map((p) => p.exitCode !== null ||
		    p.signalCode !== null ? null : new Promise((r) => {
			const t = setTimeout(() => {
				hung.push(p.name);
				p.kill('SIGKILL');
			}, 10_000);
			p.on('exit', () => { clearTimeout(t); r(); });
		})));
		await Promise.all(procs.map((p) => p.closed));
		assert.deepEqual(hung, [], 'daemons that ignored SIGTERM');
		for (const p of procs)
			assert.equal(p.exitCode, 0, `${p.name} exit status`);
		for (const p of procs)
			assert.doesNotMatch(p.output,
			    /AddressSanitizer|runtime error:/,
			    `a sanitizer report in ${p.name}'s log`);
		if (!process.env.VM_KEEP_TMP)
			fs.rmSync(this.tmp, { recursive: true, force: true });
		else
			console.log(`kept ${this.tmp}`);
	}
}

// launch() gives the browser a fresh temporary profile of its own.
export function launch() {
	return chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic',
		    '--no-first-run', '--disable-background-networking',
		    '--disable-component-update', '--disable-sync'],
	});
}

// A test file's fleet and browser, as its before and after hooks: before
// its tests, a Fleet, setup(fleet) (the command center and the agents the
// file needs), then chromium; after them, the browser closed and the
// fleet stopped (as much of each as started). The object returned holds
// fleet and browser once the before hook has run.
export function fleetAndBrowser(setup) {
	const session = { fleet: null, browser: null };
	before(async () => {
		session.fleet = new Fleet();
		await setup(session.fleet);
		session.browser = await launch();
	});
	after(async () => {
		if (session.browser)
			await session.browser.close();
		if (session.fleet)
			await session.fleet.stop();
	});
	return session;
}

// A new context and page of session's browser (viewport: its size), its
// console errors and failed requests collected in errors (watch).
export async function openPage(session,
    viewport = { width: 1280, height: 900 }) {
	const ctx = await session.browser.newContext({ viewport });
	const errors = [];
	const page = await ctx.newPage();
	watch(page, errors);
	return { ctx, page, errors };
}

// Collects console errors, uncaught exceptions and failed requests.
export function watch(page, errors) {
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

// A refused form as the page shows it, with JavaScript or without: its
// error (p.error#<form id>-error) announced as an alert and naming field,
// the field keeping what was typed, marked invalid and described by the
// error, and no other refusal on the page.
export async function assertRefusedAt(page, form, field, typed) {
	const id = await form.getAttribute('id');
	const err = form.locator(`p.error#${id}-error`);
	assert.equal(await err.getAttribute('role'), 'alert');
	assert.match(await err.textContent(),
	    new RegExp(`^Refused: .*${field}`));
	const input = form.locator(`input[name="${field}"]`);
	assert.equal(await input.inputValue(), typed);
	assert.equal(await input.getAttribute('aria-invalid'), 'true');
	assert.equal(await input.getAttribute('aria-describedby'),
	    `${id}-error`);
	assert.equal(await page.locator('p.error').count(), 1,
	    'one refusal on the page, at its form');
}

// ---- axe-core ---------------------------------------------------------

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'),
    'utf8');

// axe-core's default rule set (WCAG 2.0 and 2.1 A and AA, and the best
// practices) and WCAG 2.2's target size, on the page as it is, violations
// only. The source goes in
// through the DevTools protocol (page.evaluate), which the page's
// Content-Security-Policy does not govern: the page keeps its CSP.
export async function axe(page) {
	if (!(await page.evaluate(() => typeof window.axe === 'object')))
		await page.evaluate(AXE_SOURCE);
	return page.evaluate(async () => {
		const r = await window.axe.run(document, {
			resultTypes: ['violations'],
			// WCAG 2.2's 2.5.8 (24 px targets), off by default.
			rules: { 'target-size': { enabled: true } },
		});
		return r.violations.map((v) => ({
			id: v.id,
			impact: v.impact,
			help: v.help,
			nodes: v.nodes.map((n) => ({
				target: n.target.join(' '),
				summary: n.failureSummary,
			})),
		}));
	});
}

// "rule (impact): help\n    target: why" for each violation.
export function describeViolations(violations) {
	return violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n` +
	    v.nodes.map((n) => `    ${n.target}\n      ` +
	    (n.summary || '').replace(/\n/g, '\n      ')).join('\n'))
	    .join('\n');
}

// Fails with axe-core's findings on page (name says which page).
export async function assertNoViolations(page, name) {
	const v = await axe(page);
	if (v.length > 0)
		throw new Error(`${name}: ${describeViolations(v)}`);
}

// Elements whose content is wider than their box (text running over its
// neighbours or out of the page), and whether the page scrolls sideways.
export async function overflow(page) {
	return page.evaluate(() => {
		const out = [];
		const doc = document.documentElement;
		if (doc.scrollWidth > doc.clientWidth + 1)
			out.push(`the page is ${doc.scrollWidth}px wide in a ` +
			    `${doc.clientWidth}px viewport`);
		const name = (e) => e.tagName.toLowerCase() +
		    (e.id ? `#${e.id}` : '') +
		    [...e.classList].map((c) => `.${c}`).join('');
		for (const e of document.querySelectorAll(
		    'main td, main th, main dd, main dt, main li, main p, ' +
		    'main h2, main h3, main figcaption, main label, ' +
		    'main .scroll, main form, main .card')) {
			if (e.closest('[hidden]') || e.offsetParent === null)
				continue;
			// A scrolling output (pre) scrolls; its cell does not.
			if (e.scrollWidth > e.clientWidth + 1)
				out.push(`${name(e)} in ${name(e.parentElement)}` +
				    `: ${e.scrollWidth}px of content in ` +
				    `${e.clientWidth}px: ` +
				    JSON.stringify(e.textContent.trim()
				    .slice(0, 60)));
		}
		return out;
	});
}
