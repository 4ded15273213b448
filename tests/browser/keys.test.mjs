// Key rotation in a real browser (issue 19): the top bar leads to the
// signing keys' page, which lists the first key with the node on it; the
// dashboard and the node page show which key the node pinned. The admin
// (the local operator) rotates from the page without JavaScript's help; the
// page comes back with the new key current and, once the agent has walked
// the link, every node on it and the old key destroyed. The emergency form
// does not go without its box ticked. No console errors; the keys page
// passes axe-core. Screenshots: build/artifacts/keys-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fleetAndBrowser, until, openPage, shot, assertNoViolations } from
    './lib.mjs';

let url, id;

const session = fleetAndBrowser(async (fleet) => {
	url = await fleet.startCC();
	const a = fleet.startAgent('web1');
	id = await fleet.nodeId(a);
	await until(`${id} to confirm its key`, async () =>
	    (await fleet.node(id))?.pinned_key_id);
});

test('an admin rotates the signing key from its page and the node follows',
    async () => {
	const { ctx, page, errors } = await openPage(session);
	const k1 = (await session.fleet.api('GET', '/keys')).json.current;

	// The dashboard and the node page name the key the node pinned.
	await page.goto(`${url}/`);
	assert.equal(await page.getAttribute('#nodes a.key-current',
	    'title'), k1);
	await page.goto(`${url}/nodes/${id}`);
	assert.match(await page.textContent('#pinned-key'), new RegExp(
	    `Signing key: key ${k1.slice(0, 8)}$`));

	await page.click('nav a[href="/keys"]');
	await page.waitForURL(/\/keys$/);
	assert.equal(await page.textContent('#current-key'), k1);
	assert.match(await page.textContent('#unmoved'), /Every approved node/);
	assert.match(await page.textContent(`#key-${k1}`), /current/);
	await assertNoViolations(page, 'keys');
	await shot(page, 'keys-before');

	// The emergency form needs its box: without it nothing is sent.
	await page.click('#rotate-emergency button[type="submit"]');
	assert.equal(await page.locator('#rotate-emergency input:invalid')
	    .count(), 1);
	assert.equal((await session.fleet.api('GET', '/keys')).json.keys
	    .length, 1);

	// The planned rotation: back on the page with the new key current.
	await page.click('#rotate button[type="submit"]');
	await page.waitForURL(/\/keys$/);
	const k2 = (await session.fleet.api('GET', '/keys')).json.current;
	assert.notEqual(k2, k1);
	assert.equal(await page.textContent('#current-key'), k2);
	// The agent walks the link at its next heartbeat; the old key goes.
	await until('the node on the new key and the old key retired',
	    async () => {
		await page.reload();
		return (await page.textContent('#unmoved'))
		    .includes('Every approved node') &&
		    (await page.textContent(`#key-${k1}`)).includes('retired');
	});
	assert.match(await page.textContent(`#key-${k1}`), /destroyed/);
	await assertNoViolations(page, 'keys after a rotation');
	await shot(page, 'keys-after');
	await page.goto(`${url}/`);
	assert.equal(await page.getAttribute('#nodes a.key-current',
	    'title'), k2);
	assert.deepEqual(errors, []);
	await ctx.close();
});
