// Two-person approval in a real browser (issue 19): a command the policy
// makes wait is asked for on the node page with a reason; the node page and
// the approvals page (linked from the top bar) show who asked and why; the
// requester gets no approve form on its own request (the one local operator
// cannot approve itself) and rejects it with a reason through the page,
// without JavaScript's help or with it. No console errors; the approvals
// page and the node page pass axe-core. Screenshots:
// build/artifacts/approvals-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fleetAndBrowser, until, watch, shot, assertNoViolations } from
    './lib.mjs';

let url, id;

const session = fleetAndBrowser(async (fleet) => {
	const pol = path.join(fleet.tmp, 'policy.json');
	fs.writeFileSync(pol, JSON.stringify({
		default: ['agent-info', 'sovereign-scan'],
		require_approval: { default: ['agent-info'] },
	}));
	url = await fleet.startCC({ VAULTMESH_POLICY_PATH: pol });
	const a = fleet.startAgent('web1');
	id = await fleet.nodeId(a);
	await until(`${id} to heartbeat`, async () =>
	    (await fleet.node(id))?.last_heartbeat_at);
});

test('a command that needs approval waits, is listed and is rejected',
    async () => {
	const ctx = await session.browser.newContext({
		viewport: { width: 1280, height: 900 },
	});
	const errors = [];
	const page = await ctx.newPage();
	watch(page, errors);

	// Asked for on the node page, with a reason: it waits.
	const r = await session.fleet.api('POST', `/nodes/${id}/commands`,
	    { command: 'agent-info', reason: 'what version runs here' });
	assert.equal(r.status, 202, r.text);
	const cid = r.json.command_id;
	await page.goto(`${url}/nodes/${id}`);
	const section = await page.textContent('#approvals');
	assert.match(section, /Waiting for approval/);
	assert.match(section, /what version runs here/);
	assert.match(section, /local/);
	// The requester may reject it, not approve it.
	assert.equal(await page.locator(
	    `#approvals form[action="/commands/${cid}/approve"]`).count(), 0);
	assert.equal(await page.locator(
	    `#approvals form[action="/commands/${cid}/reject"]`).count(), 1);
	await assertNoViolations(page, 'node page');

	// The top bar leads to the list.
	await page.click('nav a[href="/approvals"]');
	await page.waitForURL(/\/approvals$/);
	await until('the request to be listed', async () =>
	    (await page.innerHTML('#approval-list')).includes(cid));
	await assertNoViolations(page, 'approvals');
	await shot(page, 'approvals-waiting');

	// Rejected with a reason: back on the list, which now has nothing
	// waiting; the rejected ones show who and why.
	const row = page.locator(`#approval-${cid}`);
	await row.locator('input[name="reason"]').fill('not needed after all');
	await row.locator('button:has-text("Reject")').click();
	await page.waitForURL(/\/approvals$/);
	await until('nothing to wait any more', async () =>
	    (await page.innerHTML('#approval-list')).includes('Nothing here'));
	await page.selectOption('select[name="status"]', 'rejected');
	await page.click('#approvals form.filter button[type="submit"]');
	await until('the rejected request with its reason', async () => {
		const t = await page.textContent('#approval-list');
		return t.includes('rejected by local') &&
		    t.includes('not needed after all');
	});
	await shot(page, 'approvals-rejected');
	// Nothing was ever queued for the node.
	const cmds = (await session.fleet.api('GET', `/nodes/${id}/commands`))
	    .json.commands;
	assert.equal(cmds.filter((c) => c.command_id === cid).length, 0);
	assert.deepEqual(errors, []);
	await ctx.close();
});
