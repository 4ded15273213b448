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
// pages go to build/artifacts/. Then, on a second node: a refused form
// answers at that form (htmx swaps the 400's sections in), and revoke and
// delete ask through the browser's dialog (delete ends on the fleet page,
// HX-Redirect). Without JavaScript: nojs.test.mjs; axe-core: a11y.test.mjs.
//
// Run: tests/browser/run.sh (installs what is missing), or
//   VM_BIN_DIR=build node --test tests/browser/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fleetAndBrowser, assertRefusedAt, until, watch, shot, WAIT,
    DESKTOP } from './lib.mjs';

let ccUrl;

const session = fleetAndBrowser(async (fleet) => {
	ccUrl = await fleet.startCC();
	// No secret: the node waits for an operator's approval.
	fleet.startAgent('agent', { secret: false });
});

// A mark in the window: gone after any reload or navigation.
async function mark(page) {
	await page.evaluate(() => { window.vmNoReload = 'still here'; });
}
async function assertNoReload(page) {
	assert.equal(await page.evaluate(() => window.vmNoReload), 'still here',
	    'the page was reloaded');
}

test('an operator sees the fleet and a node change live', async () => {
	const ctx = await session.browser.newContext({
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
	// A node this young has one or two load samples: too few for a line,
	// so no line and no dot, and a note says how many there are.
	for (const fig of ['#trend-load', '#trend-mem']) {
		assert.equal(await node.locator(`${fig} svg circle.dot`).count(),
		    0, `${fig}: no dot before 3 samples`);
		assert.equal(await node.locator(`${fig} svg polyline`).count(), 0,
		    `${fig}: no line before 3 samples`);
		assert.match(await node.locator(`${fig} p.spark-few`)
		    .textContent(), /^Only [12] samples? so far/);
	}

	await shot(dash, 'dashboard');
	await shot(node, 'node');
	// The same pages as a phone shows them.
	await dash.setViewportSize({ width: 390, height: 844 });
	await node.setViewportSize({ width: 390, height: 844 });
	await shot(dash, 'dashboard-phone');
	await shot(node, 'node-phone');
	await ctx.close();
	assert.deepEqual(errors, [], 'console errors');
});

test('the dark scheme follows the browser preference', async () => {
	const ctx = await session.browser.newContext({ colorScheme: 'dark',
	    viewport: { width: 1280, height: 900 } });
	const errors = [];
	const page = await ctx.newPage();
	watch(page, errors);
	await page.goto(`${ccUrl}/`);
	const bg = await page.evaluate(() =>
	    getComputedStyle(document.body).backgroundColor);
	assert.equal(bg, 'rgb(17, 19, 22)', 'dark background');
	await shot(page, 'dashboard-dark');
	await ctx.close();
	assert.deepEqual(errors, [], 'console errors');
});

test('with JavaScript, a refused form answers at the form and revoke and ' +
    'delete ask first', async () => {
	const { fleet, browser } = session;
	const other = fleet.startAgent('other');	// approved at once
	const id = await fleet.nodeId(other);
	await until('the second node to be approved', async () =>
	    (await fleet.node(id))?.status === 'approved');
	const ctx = await browser.newContext({ viewport: DESKTOP });
	const errors = [];
	const page = await ctx.newPage();
	watch(page, errors);
	const posts = [];
	page.on('request', (r) => {
		if (r.method() === 'POST')
			posts.push(new URL(r.url()).pathname);
	});
	await page.goto(`${ccUrl}/nodes/${id}`);
	await mark(page);

	// A unit name that is none: refused, said at its form, typed kept.
	const form = page.locator('#run-service-status');
	await form.locator('input[name="unit"]').fill('no such unit');
	await form.locator('button').click();
	await form.locator('p.error#run-service-status-error').waitFor(
	    { timeout: WAIT });
	await assertRefusedAt(page, form, 'unit', 'no such unit');
	await assertNoReload(page);
	assert.deepEqual((await fleet.commands(id)).filter((c) =>
	    c.command === 'service-status'), [], 'nothing queued');
	await shot(page, 'js-refused-form');

	// Revoke asks the browser first; dismissed, nothing is sent.
	const revoke = page.locator('#enrollment button', { hasText: 'Revoke' });
	const asked = [];
	let answered = new Promise((r) => page.once('dialog', async (d) => {
		asked.push(d.message());
		await d.dismiss();
		r();
	}));
	await revoke.click();
	await answered;
	assert.match(asked[0], /^Revoke \S+\? Its token stops working/);
	assert.equal((await fleet.node(id)).status, 'approved');
	assert.deepEqual(posts, [`/nodes/${id}/commands`]);

	// Accepted: revoked, in place.
	answered = new Promise((r) => page.once('dialog', async (d) => {
		await d.accept();
		r();
	}));
	await revoke.click();
	await answered;
	await until('the node page to show it revoked', async () =>
	    /Status: revoked/.test(await page.locator('#enrollment')
	    .textContent()));
	assert.equal(await page.locator('#node-head .badge.revoked')
	    .textContent(), 'revoked');
	assert.equal((await fleet.node(id)).status, 'revoked');
	await assertNoReload(page);

	// Delete, accepted: the answer sends the browser to the fleet.
	page.once('dialog', (d) => d.accept());
	const [del] = await Promise.all([
		page.waitForResponse((r) => r.request().method() === 'POST' &&
		    new URL(r.url()).pathname === `/nodes/${id}/delete`),
		page.locator('#enrollment button', { hasText: 'Delete' })
		    .click(),
	]);
	assert.equal(del.headers()['hx-redirect'], '/');
	await page.waitForURL(`${ccUrl}/`);
	await page.locator('#nodes').waitFor();
	assert.equal(await page.locator(`#nodes a[href="/nodes/${id}"]`)
	    .count(), 0, 'the deleted node is not listed');
	const nodes = await fleet.api('GET', '/nodes');
	assert.equal(nodes.json.filter((n) => n.node_id === id).length, 0);
	assert.deepEqual(posts, [`/nodes/${id}/commands`,
	    `/nodes/${id}/revoke`, `/nodes/${id}/delete`]);
	await ctx.close();
	// The refused form's answer is a 400, which chromium logs.
	assert.deepEqual(errors.filter((e) =>
	    !/the server responded with a status of 400/.test(e)), [],
	    'console errors');
});
