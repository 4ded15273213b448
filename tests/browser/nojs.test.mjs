// The dashboard with JavaScript switched off: every page is a plain HTML
// page and every action a plain HTML form, so an operator whose browser
// runs no script (or whose htmx failed to load) still does the work.
//
// In a chromium context with javaScriptEnabled: false an operator runs
// agent-info from a node's form (a POST answered 303, back to the node
// page), reloads until the result is there, sees a refused form answer
// at that form with what was typed kept, revokes a node through the
// confirmation page, and reads the history and the audit log through
// their filter forms. Screenshots: build/artifacts/nojs-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fleetAndBrowser, assertRefusedAt, until, watch, shot, WAIT,
    DESKTOP } from './lib.mjs';

let url, runId, revokeId;

const session = fleetAndBrowser(async (fleet) => {
	url = await fleet.startCC();
	// Both enroll with the secret: approved at once.
	const runner = fleet.startAgent('runner');
	const revokee = fleet.startAgent('revokee');
	runId = await fleet.nodeId(runner);
	revokeId = await fleet.nodeId(revokee);
	for (const id of [runId, revokeId])
		await until(`node ${id} to be approved`, async () =>
		    (await fleet.node(id))?.status === 'approved');
});

// A page in a context without JavaScript, its errors and the requests it
// made (htmx would add HX-Request to its own).
async function noJsPage(t) {
	const ctx = await session.browser.newContext({ javaScriptEnabled: false,
	    viewport: DESKTOP });
	const page = await ctx.newPage();
	const errors = [];
	const requests = [];
	watch(page, errors);
	page.on('request', (r) => requests.push(r));
	t.after(() => ctx.close());
	return { page, errors, requests };
}

function assertNoHtmx(requests) {
	const hx = requests.filter((r) => r.headers()['hx-request'] ||
	    /[?&]fragment=/.test(r.url()) || /\/static\/htmx-/.test(r.url()));
	assert.deepEqual(hx.map((r) => r.url()), [],
	    'requests that only a script makes');
}

// The POST a click sends, and its answer.
async function submit(page, button, path) {
	const [res] = await Promise.all([
		page.waitForResponse((r) => r.request().method() === 'POST' &&
		    new URL(r.url()).pathname === path),
		button.click(),
	]);
	await page.waitForLoadState();
	return res;
}

test('without JavaScript, a command runs from its form and its result ' +
    'shows after reloads', async (t) => {
	const { page, errors, requests } = await noJsPage(t);
	const nodeUrl = `${url}/nodes/${runId}`;
	await page.goto(nodeUrl);
	await page.locator('#run-agent-info').waitFor();
	assert.equal(await page.locator('#run-agent-info input[type="hidden"]' +
	    '[name="command"]').getAttribute('value'), 'agent-info');
	await shot(page, 'nojs-node');

	// The form posts; the answer is a 303 back to the node's commands.
	const res = await submit(page, page.locator(
	    '#run-agent-info button'), `/nodes/${runId}/commands`);
	assert.equal(res.status(), 303);
	assert.equal(res.headers().location, `/nodes/${runId}#commands`);
	assert.equal(page.url(), `${nodeUrl}#commands`);
	const req = res.request();
	assert.match(req.headers()['content-type'],
	    /^application\/x-www-form-urlencoded/);
	assert.equal(req.postData(), 'command=agent-info');

	// Nothing updates by itself: reload until the agent has answered.
	const row = page.locator('#commands tbody tr[id^="cmd-"]',
	    { hasText: 'agent-info' });
	await until('agent-info to show ok after a reload', async () => {
		await page.reload();
		return (await row.count()) === 1 && (await row.locator('td')
		    .nth(2).textContent()).trim() === 'ok';
	}, WAIT, 250);
	assert.match(await row.locator('td').nth(1).textContent(), /by local$/);
	const out = page.locator('#commands tr[id^="cmd-"]:has-text(' +
	    '"agent-info") + tr.output pre');
	assert.match(await out.textContent(), /"agent_version"/);
	assert.equal(await out.getAttribute('tabindex'), '0');
	await shot(page, 'nojs-node-after-run');

	// The whole history, through its link and its filter form (a GET).
	await page.locator('a', { hasText: 'The whole history, with filters' })
	    .click();
	await page.waitForURL(`${url}/nodes/${runId}/history`);
	const filter = page.locator('form.filter');
	await filter.locator('select[name="status"]').selectOption('ok');
	await filter.locator('select[name="command"]').selectOption(
	    'agent-info');
	await filter.locator('button[type="submit"]').click();
	await page.waitForURL(`${url}/nodes/${runId}/history?status=ok&` +
	    'command=agent-info');
	const rows = page.locator('table.commands tbody tr[id^="cmd-"]');
	assert.equal(await rows.count(), 1);
	assert.match(await rows.first().textContent(), /agent-info.*ok/s);
	assert.equal(await filter.locator('select[name="status"]')
	    .inputValue(), 'ok', 'the filter shows what it filters by');
	await shot(page, 'nojs-history');

	assertNoHtmx(requests);
	assert.deepEqual(errors, [], 'console errors');
});

test('without JavaScript, a refused form answers at that form with what ' +
    'was typed', async (t) => {
	const { page, errors, requests } = await noJsPage(t);
	await page.goto(`${url}/nodes/${runId}`);

	// A unit name that is none: the server refuses it (400) and the node
	// page comes back with the refusal beside the form.
	let form = page.locator('#run-service-status');
	await form.locator('input[name="unit"]').fill('no such unit');
	let res = await submit(page, form.locator('button'),
	    `/nodes/${runId}/commands`);
	assert.equal(res.status(), 400);
	assert.match(res.headers()['content-type'], /^text\/html/);
	await assertRefusedAt(page, page.locator('form.cmd#run-service-status'),
	    'unit', 'no such unit');
	assert.equal(await page.locator('#notice').textContent(), '');
	await shot(page, 'nojs-refused-form');

	// journal-tail: a bad unit; both of what was typed come back.
	form = page.locator('#run-journal-tail');
	await form.locator('input[name="unit"]').fill('nounit');
	await form.locator('input[name="lines"]').fill('7');
	res = await submit(page, form.locator('button'),
	    `/nodes/${runId}/commands`);
	assert.equal(res.status(), 400);
	form = page.locator('#run-journal-tail');
	const err = form.locator('p.error#run-journal-tail-error');
	assert.match(await err.textContent(), /^Refused: .*unit/);
	assert.equal(await form.locator('input[name="unit"]').inputValue(),
	    'nounit');
	assert.equal(await form.locator('input[name="lines"]').inputValue(),
	    '7');
	// The earlier refusal is gone: one answer, at the last form used.
	assert.equal(await page.locator('p.error').count(), 1);
	assert.equal(await page.locator('#run-service-status input' +
	    '[name="unit"]').inputValue(), '');

	// lines=0: the browser itself holds the form back (min="1"), so no
	// request leaves; the next valid post is the only one that does.
	const lines = form.locator('input[name="lines"]');
	await form.locator('input[name="unit"]').fill('ssh.service');
	await lines.fill('0');
	const before = requests.filter((r) => r.method() === 'POST').length;
	await form.locator('button').click();
	assert.equal(await form.locator('input[name="lines"]:invalid')
	    .count(), 1);
	res = await submit(page, page.locator('#run-agent-info button'),
	    `/nodes/${runId}/commands`);
	assert.equal(res.status(), 303);
	assert.deepEqual(requests.filter((r) => r.method() === 'POST')
	    .slice(before).map((r) => r.postData()), ['command=agent-info']);

	// Neither refused command was queued.
	const cmds = await session.fleet.commands(runId);
	assert.deepEqual(cmds.filter((c) => c.command !== 'agent-info' &&
	    c.command !== 'sovereign-scan').map((c) => c.command), []);

	assertNoHtmx(requests);
	// The two refusals' 400 answers, which chromium logs.
	assert.deepEqual(errors.filter((e) =>
	    !/the server responded with a status of 400/.test(e)), [],
	    'console errors');
});

test('without JavaScript, revoke goes through its confirmation page',
    async (t) => {
	const { page, errors, requests } = await noJsPage(t);
	const nodeUrl = `${url}/nodes/${revokeId}`;
	await page.goto(nodeUrl);
	// A GET form without fields: the browser asks for ".../revoke?".
	const confirmUrl = `${nodeUrl}/revoke?`;
	const revoke = page.locator('#enrollment form[action$="/revoke"]');
	assert.equal(await revoke.getAttribute('method'), 'get');

	// The button opens the confirmation page; Cancel goes back unchanged.
	await revoke.locator('button').click();
	await page.waitForURL(confirmUrl);
	let card = page.locator('section.confirm');
	assert.match(await card.locator('h2').textContent(),
	    /^Revoke node \S+\?$/);
	assert.match(await card.textContent(), new RegExp(revokeId));
	await card.locator('a', { hasText: 'Cancel' }).click();
	await page.waitForURL(nodeUrl);
	assert.equal((await session.fleet.node(revokeId)).status, 'approved');

	await page.locator('#enrollment form[action$="/revoke"] button')
	    .click();
	await page.waitForURL(confirmUrl);
	card = page.locator('section.confirm');
	assert.equal(await card.locator('form').getAttribute('method'),
	    'post');
	await shot(page, 'nojs-confirm-revoke');

	// Confirmed: a POST, a 303 to the node page, which says revoked.
	const res = await submit(page, card.locator('button.danger'),
	    `/nodes/${revokeId}/revoke`);
	assert.equal(res.status(), 303);
	assert.equal(page.url(), nodeUrl);
	assert.match(await page.locator('#enrollment').textContent(),
	    /Status: revoked/);
	assert.equal(await page.locator('#node-head .badge.revoked')
	    .textContent(), 'revoked');
	assert.equal(await page.locator('#enrollment button', { hasText:
	    'Approve' }).count(), 1, 'a revoked node can be approved again');
	assert.equal((await session.fleet.node(revokeId)).status, 'revoked');
	await shot(page, 'nojs-node-revoked');

	// The fleet counts it apart and lists it after the others.
	await page.goto(`${url}/`);
	assert.equal(await page.locator('#summary a.count.revoked b')
	    .textContent(), '1');
	const rows = page.locator('#nodes tbody tr');
	assert.equal(await rows.count(), 2);
	assert.equal(await rows.last().locator('a').getAttribute('href'),
	    `/nodes/${revokeId}`);
	assert.equal(await rows.last().locator('.badge.revoked').count(), 1);
	await shot(page, 'nojs-fleet');

	// The audit log, filtered by its form: the revoke, by whom, on what.
	await page.goto(`${url}/audit`);
	await page.locator('form.filter select[name="action"]')
	    .selectOption('revoke');
	await page.locator('form.filter button[type="submit"]').click();
	await page.waitForURL(/\/audit\?action=revoke&node=$/);
	const audit = page.locator('table.audit tbody tr[id^="audit-"]');
	assert.equal(await audit.count(), 1);
	const target = audit.locator('td').nth(4);
	assert.equal(await target.locator('a').getAttribute('href'),
	    `/nodes/${revokeId}`);
	assert.equal(await target.locator('code.id').textContent(), revokeId);
	assert.match(await audit.textContent(), /local.*revoke.*ok/s);
	await shot(page, 'nojs-audit');

	assertNoHtmx(requests);
	assert.deepEqual(errors, [], 'console errors');
});

test('without JavaScript, errors are pages with a way back', async (t) => {
	const { page, errors, requests } = await noJsPage(t);
	let res = await page.goto(`${url}/?attention=purple`);
	assert.equal(res.status(), 400);
	assert.match(res.headers()['content-type'], /^text\/html/);
	const card = page.locator('section.error-page');
	assert.match(await card.locator('[role="alert"]').textContent(),
	    /attention/);
	await shot(page, 'nojs-error');
	await card.locator('a', { hasText: 'Back to the fleet' }).click();
	await page.waitForURL(`${url}/`);

	res = await page.goto(`${url}/nodes/00000000-0000-4000-8000-` +
	    '000000000000');
	assert.equal(res.status(), 404);
	assert.equal(await page.locator('section.error-page a').getAttribute(
	    'href'), '/');

	// A JSON client asking the same gets JSON.
	const api = await session.fleet.api('GET', '/?attention=purple');
	assert.equal(api.status, 400);
	assert.equal(typeof api.json?.error, 'string');

	assertNoHtmx(requests);
	assert.deepEqual(errors.filter((e) =>
	    !/the server responded with a status of 40[04]/.test(e)), [],
	    'console errors');
});
