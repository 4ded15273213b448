// Jobs in a real browser (issue 18): an operator narrows the dashboard to
// a label, follows its "New job for this selection" link, previews the job
// (how many nodes, none excluded), creates it, and watches it finish on
// its page without a reload (htmx polls the page's sections while the job
// runs, and stops when it ends): every node's answer, grouped. The jobs
// list links to it. No console errors; the new-job page, the job page and
// the jobs list pass axe-core (WCAG 2.0/2.1 A and AA, 2.2 target size).
// Screenshots: build/artifacts/jobs-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fleetAndBrowser, until, watch, shot, assertNoViolations,
    WAIT } from './lib.mjs';

let url, ids;

const session = fleetAndBrowser(async (fleet) => {
	url = await fleet.startCC();
	const agents = ['web1', 'web2', 'db1'].map((n) =>
	    fleet.startAgent(n));
	ids = await Promise.all(agents.map((a) => fleet.nodeId(a)));
	for (const [i, id] of ids.entries()) {
		await until(`${id} to heartbeat`, async () =>
		    (await fleet.node(id))?.last_heartbeat_at);
		const r = await fleet.api('PUT', `/nodes/${id}/labels`,
		    { labels: { role: i < 2 ? 'web' : 'db' } });
		assert.equal(r.status, 200, r.text);
	}
});

test('an operator creates a job from the dashboard and watches it finish',
    async () => {
	const ctx = await session.browser.newContext({
		viewport: { width: 1280, height: 900 },
	});
	const errors = [];
	const page = await ctx.newPage();
	watch(page, errors);

	// The dashboard, narrowed by the job's selector: the two web nodes.
	await page.goto(`${url}/`);
	await page.fill('#filter input[name="labels"]', 'role=web');
	await page.click('#filter button[type="submit"]');
	await until('the table to show the web nodes only', async () => {
		const t = await page.innerHTML('#nodes');
		return t.includes(ids[0]) && t.includes(ids[1]) &&
		    !t.includes(ids[2]);
	});
	// Its link carries the selection to the new-job form.
	await page.goto(`${url}/?labels=role%3Dweb`);
	await page.click('#new-job');
	await page.waitForURL(/\/jobs\/new\?labels=role%3Dweb/);
	assert.equal(await page.inputValue('input[name="labels"]'),
	    'role=web');
	await assertNoViolations(page, 'new job');
	await page.selectOption('select[name="command"]', 'agent-info');
	await page.fill('input[name="reason"]', 'inventory of the web nodes');

	// The preview: two nodes, none excluded; nothing queued yet.
	await page.click('#preview-button');
	await page.waitForSelector('#preview-selected');
	assert.equal(await page.textContent('#preview-selected'), '2');
	assert.equal(await page.locator('#excluded').count(), 0);
	const mine = async () => (await session.fleet.api('GET', '/jobs'))
	    .json.jobs.filter((j) => j.created_by !== 'scheduler');
	assert.equal((await mine()).length, 0);
	await shot(page, 'jobs-preview');

	// Created: its page, which follows the job to its end by itself.
	await page.click('#create-button');
	await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
	const jobId = page.url().split('/').pop();
	await page.evaluate(() => { window.vmNoReload = 'still here'; });
	await until('the job page to show it done', async () =>
	    (await page.textContent('#job-status')) === 'done', WAIT);
	assert.equal(await page.evaluate(() => window.vmNoReload),
	    'still here', 'the page was reloaded');
	assert.match(await page.textContent('#job-counts'), /ok 2/);
	assert.equal(await page.locator('#job-results tbody tr').count(), 2);
	assert.match(await page.textContent('#job-groups'), /ok/);
	// Done: the page stops asking.
	assert.equal(await page.locator('#live').count(), 0);
	await assertNoViolations(page, 'job');
	await shot(page, 'jobs-done');

	// The list links to it.
	await page.goto(`${url}/jobs`);
	assert.equal(await page.locator(`a[href="/jobs/${jobId}"]`).count(),
	    1);
	await assertNoViolations(page, 'jobs');
	assert.deepEqual(errors, []);
	await ctx.close();
});
