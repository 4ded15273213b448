/*
 * Unit tests of command-center/validate.c: heartbeat and enroll bodies of
 * CONTRACT.md, checked field by field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cc_all.h"
#include "testlib.h"

#define NODE_ID "0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7b"

static const char *const hb_fields[] = { "node_id", "hostname", "os_profile",
	"agent_version", "uptime_secs", "load1", "mem_used_pct",
	"root_disk_used_pct", "cloudflare", "services", "sent_at" };
#define NFIELDS (sizeof(hb_fields) / sizeof(hb_fields[0]))

/* A heartbeat body exactly as the contract describes it. */
static json_t *
good_heartbeat(void)
{
	json_t *root = json_pack("{s:s, s:s, s:s, s:s, s:I, s:f, s:f, s:f, "
				 "s:s, s:[{s:s, s:s}, {s:s, s:s}], s:s}",
	    "node_id", NODE_ID, "hostname", "web-1.example.org", "os_profile",
	    "debian-12", "agent_version", "0.1.0", "uptime_secs",
	    (json_int_t)123456, "load1", 0.75, "mem_used_pct", 42.5,
	    "root_disk_used_pct", 70.25, "cloudflare", "up", "services", "name",
	    "nginx.service", "state", "active", "name", "cloudflared.service",
	    "state", "active", "sent_at", "2026-11-27T10:00:00Z");

	assert_non_null(root);
	return root;
}

/* Validates root; on failure checks that err starts with field. */
static int
run_hb(json_t *root, struct heartbeat *hb, char *err, size_t errlen)
{
	int rc;

	err[0] = '\0';
	rc = validate_heartbeat(root, hb, err, errlen);
	if (rc == -1)
		assert_null(hb->json);
	return rc;
}

/* root validated into hb (hb->json is then the caller's). */
static void
hb_ok(json_t *root, struct heartbeat *hb)
{
	char err[256];

	if (run_hb(root, hb, err, sizeof(err)) != 0)
		fail_msg("rejected: %s", err);
}

/* Sets field to value (stolen; NULL deletes) and expects an error on field. */
static void
expect_hb_error(const char *field, json_t *value, const char *err_field)
{
	json_t		*root = good_heartbeat();
	struct heartbeat hb;
	char		 err[256];
	size_t		 n = strlen(err_field);

	if (value == NULL)
		assert_int_equal(json_object_del(root, field), 0);
	else
		assert_int_equal(json_object_set_new(root, field, value), 0);
	if (run_hb(root, &hb, err, sizeof(err)) != -1) {
		free(hb.json);
		json_decref(root);
		fail_msg("bad %s accepted", field);
	}
	if (strncmp(err, err_field, n) != 0 || err[n] != ':')
		fail_msg("error for %s is \"%s\"", field, err);
	json_decref(root);
}

static void
expect_hb_ok(const char *field, json_t *value)
{
	json_t		*root = good_heartbeat();
	struct heartbeat hb;
	char		 err[256];

	assert_int_equal(json_object_set_new(root, field, value), 0);
	if (run_hb(root, &hb, err, sizeof(err)) != 0)
		fail_msg("good %s rejected: %s", field, err);
	free(hb.json);
	json_decref(root);
}

/* ---- the good body ---------------------------------------------------------- */

/* The good body is taken; load and memory are kept, or NaN when null. */
static void
heartbeat_good_body_is_accepted(void **state)
{
	json_t		*root = good_heartbeat();
	struct heartbeat hb;

	(void)state;
	hb_ok(root, &hb);
	assert_string_equal(hb.node_id, NODE_ID);
	assert_string_equal(hb.hostname, "web-1.example.org");
	assert_string_equal(hb.os_profile, "debian-12");
	assert_string_equal(hb.agent_version, "0.1.0");
	assert_int_equal(hb.cloudflare, CF_UP);
	assert_int_equal(hb.services_down, 0);
	assert_true(hb.load1 == 0.75 && hb.mem_used_pct == 42.5);
	assert_non_null(hb.json);
	/* The strings borrow from root. */
	assert_ptr_equal(hb.node_id,
	    json_string_value(json_object_get(root, "node_id")));
	free(hb.json);
	/* Load and memory null: the agent could not read them. */
	json_object_set_new(root, "load1", json_null());
	json_object_set_new(root, "mem_used_pct", json_null());
	hb_ok(root, &hb);
	assert_true(isnan(hb.load1) && isnan(hb.mem_used_pct));
	free(hb.json);
	json_decref(root);
}

static void
heartbeat_canonical_json_keeps_only_contract_fields(void **state)
{
	json_t		*root = good_heartbeat(), *canon;
	struct heartbeat hb;
	json_error_t	 jerr;

	(void)state;
	json_object_set_new(root, "extra", json_string("dropped"));
	json_object_set_new(root, "node_token", json_string("secret"));
	json_object_set_new(root, "nested", json_pack("{s:i}", "a", 1));
	hb_ok(root, &hb);
	assert_non_null(hb.json);
	assert_null(strchr(hb.json, '\n'));
	canon = json_loads(hb.json, 0, &jerr);
	assert_non_null(canon);
	assert_int_equal(json_object_size(canon), NFIELDS);
	for (size_t i = 0; i < NFIELDS; i++) {
		json_t *a = json_object_get(canon, hb_fields[i]);
		json_t *b = json_object_get(root, hb_fields[i]);

		assert_non_null(a);
		if (!json_equal(a, b))
			fail_msg("field %s changed", hb_fields[i]);
	}
	assert_null(json_object_get(canon, "extra"));
	assert_null(json_object_get(canon, "node_token"));
	assert_null(strstr(hb.json, "secret"));
	json_decref(canon);
	free(hb.json);
	json_decref(root);
}

/* ---- one field's value at a time ---------------------------------- */

#define SVC(name, st) "[{\"name\": \"" name "\", \"state\": \"" st "\"}]"

/*
 * The good heartbeat with field's value each JSON text value of ok[]:
 * taken; of bad[]: an error naming field.
 */
static const struct hb_values {
	const char *field;
	const char *ok[4]; /* up to a NULL */
	const char *bad[12];
} hb_values[] = {
	/* Integers where reals are expected; the ranges and their bounds. */
	{ "load1", { "0", "0.0", "512.5" },
	    { "-0.01", "-1", "1e300", "-1e300" } },
	{ "mem_used_pct", { "100", "0.0", "100.0" },
	    { "100.01", "101", "-1", "-0.001", "1e300" } },
	{ "root_disk_used_pct", { "0", "100.0" }, { "100.5", "-1" } },
	/* A whole number of seconds. */
	{ "uptime_secs", { "0" },
	    { "-1", "-9223372036854775808", "9223372036854775807", "1.5",
		"1e300" } },
	/* Strings. */
	{ "node_id", { NULL },
	    { "\"not-a-uuid\"", "\"0B5E3C1A-7D2F-4C3E-9A1B-2C3D4E5F6A7B\"",
		"\"\"" } },
	{ "hostname",
	    { "\"<script>alert(1)</script>\"", "\"h\xc3\xb4te-\xe2\x9c\x93\"" },
	    { "\"\"", "\"a\\nb\"", "\"a\\u001b[2Jb\"" } },
	{ "os_profile", { "\"Arch_Linux-2024.01\"" },
	    { "\"\"", "\"debian 12\"", "\"../etc\"" } },
	{ "agent_version", { NULL }, { "\"\"", "\"1.0\\n\"" } },
	{ "cloudflare", { NULL },
	    { "\"UP\"", "\"Down\"", "\"maybe\"", "\"active\"", "\"\"",
		"\"up \"", "true" } },
	/* RFC 3339. */
	{ "sent_at", { "\"2026-11-27T12:00:00.123+02:00\"" },
	    { "\"yesterday\"", "\"2026-02-30T00:00:00Z\"",
		"\"2026-11-27T10:00:00\"", "\"\"", "1795773600" } },
	/*
	 * An array of {name, state} objects, nothing else (one good entry
	 * then a bad one included); names must be units, states lowercase
	 * words.
	 */
	{ "services",
	    { "[{\"name\": \"a.service\", \"state\": \"reloading\"},"
	      " {\"name\": \"b.service\", \"state\": \"activating\"},"
	      " {\"name\": \"c.service\", \"state\": \"unknown\"}]" },
	    { "{}", "\"nginx.service\"", "[\"nginx.service\"]",
		"[[\"nginx.service\", \"active\"]]", "[null]",
		"[{\"name\": \"nginx.service\"}]", "[{\"state\": \"active\"}]",
		"[{\"name\": \"nginx.service\", \"state\": \"active\", "
		"\"sub\": \"running\"}]",
		"[{\"name\": 5, \"state\": \"active\"}]",
		"[{\"name\": \"nginx.service\", \"state\": null}]",
		"[{\"name\": \"a.service\", \"state\": \"active\"}, \"b\"]" } },
	{ "services", { NULL },
	    { SVC("nginx", "active"), SVC("../x.service", "active"),
		SVC("", "active"), SVC("a b.service", "active"),
		SVC("a.service", "Active"), SVC("a.service", "ACTIVE"),
		SVC("a.service", ""), SVC("a.service", "active running"),
		SVC("a.service", "<b>x</b>") } },
};

/* The JSON text value, parsed. */
static json_t *
value(const char *field, const char *text)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);

	if (v == NULL)
		fail_msg("%s %s: not JSON", field, text);
	return v;
}

static void
heartbeat_each_fields_values_are_taken_or_named(void **state)
{
	(void)state;
	for (size_t i = 0; i < TL_NITEMS(hb_values); i++) {
		const struct hb_values *c = &hb_values[i];

		/* Each list ends with a NULL. */
		assert_null(c->ok[TL_NITEMS(c->ok) - 1]);
		assert_null(c->bad[TL_NITEMS(c->bad) - 1]);
		for (const char *const *v = c->ok; *v != NULL; v++)
			expect_hb_ok(c->field, value(c->field, *v));
		for (const char *const *v = c->bad; *v != NULL; v++)
			expect_hb_error(c->field, value(c->field, *v),
			    c->field);
	}
}

/* ---- each field missing, each wrong type ------------------------------------ */

static void
heartbeat_each_field_missing_is_named(void **state)
{
	(void)state;
	for (size_t i = 0; i < NFIELDS; i++)
		expect_hb_error(hb_fields[i], NULL, hb_fields[i]);
}

static void
heartbeat_missing_field_error_says_required(void **state)
{
	json_t		*root = good_heartbeat();
	struct heartbeat hb;
	char		 err[256];

	(void)state;
	json_object_del(root, "load1");
	assert_int_equal(run_hb(root, &hb, err, sizeof(err)), -1);
	assert_string_equal(err, "load1: is required");
	json_decref(root);
}

static void
heartbeat_each_field_wrong_type_is_named(void **state)
{
	(void)state;
	/* strings given numbers, numbers given strings, and nulls */
	for (size_t i = 0; i < NFIELDS; i++) {
		const char *f = hb_fields[i];
		int	    numeric = strcmp(f, "uptime_secs") == 0 ||
		    strcmp(f, "load1") == 0 || strcmp(f, "mem_used_pct") == 0 ||
		    strcmp(f, "root_disk_used_pct") == 0;

		expect_hb_error(f, numeric ? json_string("5") : json_integer(5),
		    f);
		/* null is "could not read" for the numeric facts only */
		if (!numeric)
			expect_hb_error(f, json_null(), f);
		expect_hb_error(f, json_true(), f);
		expect_hb_error(f, json_object(), f);
		if (strcmp(f, "services") != 0)
			expect_hb_error(f, json_array(), f);
	}
}

static void
heartbeat_numeric_facts_may_be_null(void **state)
{
	static const char *const f[] = { "uptime_secs", "load1", "mem_used_pct",
		"root_disk_used_pct" };
	struct heartbeat	 hb;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		json_t *root = good_heartbeat();

		json_object_set_new(root, f[i], json_null());
		hb_ok(root, &hb);
		assert_non_null(strstr(hb.json, "null"));
		free(hb.json);
		json_decref(root);
	}
}

static void
heartbeat_body_must_be_an_object(void **state)
{
	json_t *roots[] = { json_array(), json_string("x"), json_integer(1),
		json_null() };
	struct heartbeat hb;
	char		 err[256];

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(run_hb(roots[i], &hb, err, sizeof(err)), -1);
		assert_true(strncmp(err, "body:", 5) == 0);
		json_decref(roots[i]);
	}
	assert_int_equal(run_hb(NULL, &hb, err, sizeof(err)), -1);
}

/* ---- ranges ------------------------------------------------------------------- */

static void
heartbeat_huge_number_from_text_is_out_of_range(void **state)
{
	json_t		*root;
	struct heartbeat hb;
	char		 err[256];
	char		*s;

	(void)state;
	/* As it arrives on the wire: jansson parses 1e300 as a real. */
	root = good_heartbeat();
	json_object_del(root, "mem_used_pct");
	s = json_dumps(root, JSON_COMPACT);
	assert_non_null(s);
	json_decref(root);
	s[strlen(s) - 1] = '\0'; /* drop the closing brace */
	{
		char body[2048];

		snprintf(body, sizeof(body), "%s,\"mem_used_pct\":1e300}", s);
		root = json_loads(body, 0, NULL);
	}
	free(s);
	assert_non_null(root);
	assert_int_equal(run_hb(root, &hb, err, sizeof(err)), -1);
	assert_true(strncmp(err, "mem_used_pct:", 13) == 0);
	json_decref(root);
}

/* ---- strings ------------------------------------------------------------------- */

/* Each string at its length limit is taken; a byte more is named. */
static void
heartbeat_strings_have_length_limits(void **state)
{
	static const struct {
		const char *field;
		size_t	    max;
	} limits[] = { { "hostname", HOSTNAME_MAX },
		{ "os_profile", PROFILE_MAX },
		{ "agent_version", VERSION_MAX } };
	char s[HOSTNAME_MAX + PROFILE_MAX + VERSION_MAX + 2];

	(void)state;
	for (size_t i = 0; i < TL_NITEMS(limits); i++) {
		memset(s, 'x', limits[i].max + 1);
		s[limits[i].max] = '\0';
		expect_hb_ok(limits[i].field, json_string(s));
		s[limits[i].max] = 'x';
		s[limits[i].max + 1] = '\0';
		expect_hb_error(limits[i].field, json_string(s),
		    limits[i].field);
	}
}

static void
heartbeat_cloudflare_states_are_read(void **state)
{
	static const struct {
		const char   *s;
		enum cf_state v;
	} ok[] = { { "up", CF_UP }, { "down", CF_DOWN },
		{ "unknown", CF_UNKNOWN } };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		json_t		*root = good_heartbeat();
		struct heartbeat hb;

		json_object_set_new(root, "cloudflare", json_string(ok[i].s));
		hb_ok(root, &hb);
		assert_int_equal(hb.cloudflare, ok[i].v);
		free(hb.json);
		json_decref(root);
	}
}

/* ---- services --------------------------------------------------------------------- */

static json_t *
svc(const char *name, const char *st)
{
	return json_pack("{s:s, s:s}", "name", name, "state", st);
}

static void
heartbeat_services_count_limit(void **state)
{
	json_t *arr;
	char	name[32];

	(void)state;
	arr = json_array();
	for (int i = 0; i < SERVICES_MAX; i++) {
		snprintf(name, sizeof(name), "s%d.service", i);
		json_array_append_new(arr, svc(name, "active"));
	}
	expect_hb_ok("services", json_deep_copy(arr));
	json_array_append_new(arr, svc("one-too-many.service", "active"));
	assert_int_equal(json_array_size(arr), 65);
	expect_hb_error("services", arr, "services");
	expect_hb_ok("services", json_array());
}

static int
services_down_of(json_t *services)
{
	json_t		*root = good_heartbeat();
	struct heartbeat hb;
	char		 err[256];
	int		 down;

	json_object_set_new(root, "services", services);
	if (run_hb(root, &hb, err, sizeof(err)) != 0)
		fail_msg("rejected: %s", err);
	down = hb.services_down;
	free(hb.json);
	json_decref(root);
	return down;
}

static void
heartbeat_services_down_computed_from_states(void **state)
{
	(void)state;
	assert_int_equal(services_down_of(json_array()), 0);
	assert_int_equal(
	    services_down_of(json_pack("[o]", svc("a.service", "active"))), 0);
	assert_int_equal(
	    services_down_of(json_pack("[o]", svc("a.service", "unknown"))), 0);
	assert_int_equal(
	    services_down_of(json_pack("[o]", svc("a.service", "failed"))), 1);
	assert_int_equal(
	    services_down_of(json_pack("[o]", svc("a.service", "inactive"))),
	    1);
	assert_int_equal(
	    services_down_of(json_pack("[o, o, o]", svc("a.service", "active"),
		svc("b.service", "unknown"), svc("c.service", "failed"))),
	    1);
	assert_int_equal(
	    services_down_of(json_pack("[o, o]", svc("a.service", "active"),
		svc("b.service", "active"))),
	    0);
}

/* ---- error text --------------------------------------------------------------------- */

static void
heartbeat_error_text_starts_with_field_and_fits(void **state)
{
	json_t		*root = good_heartbeat();
	struct heartbeat hb;
	char		 err[12];

	(void)state;
	json_object_set_new(root, "root_disk_used_pct", json_integer(500));
	memset(err, 'z', sizeof(err));
	assert_int_equal(validate_heartbeat(root, &hb, err, sizeof(err)), -1);
	assert_non_null(memchr(err, '\0', sizeof(err)));
	assert_true(strncmp(err, "root_disk_u", 11) == 0);
	json_decref(root);
}

static void
heartbeat_first_bad_field_in_contract_order_is_reported(void **state)
{
	json_t		*root = good_heartbeat();
	struct heartbeat hb;
	char		 err[256];

	(void)state;
	json_object_set_new(root, "load1", json_string("x"));
	json_object_set_new(root, "sent_at", json_string("x"));
	assert_int_equal(run_hb(root, &hb, err, sizeof(err)), -1);
	assert_true(strncmp(err, "load1:", 6) == 0);
	json_decref(root);
}

/* ---- enroll ------------------------------------------------------------------------- */

static json_t *
good_enroll(const char *secret)
{
	json_t *root =
	    json_pack("{s:s, s:s, s:s, s:s}", "node_id", NODE_ID, "hostname",
		"web-1", "os_profile", "debian-12", "agent_version", "0.1.0");

	assert_non_null(root);
	if (secret != NULL)
		json_object_set_new(root, "enroll_secret", json_string(secret));
	return root;
}

/*
 * validate_enroll() of root into er, expected to take it (field NULL) or
 * to refuse it with an error on field ("field: ..."); the error text.
 */
static const char *
enroll(json_t *root, struct enroll_req *er, const char *field)
{
	static char err[256];
	int	    rc;

	err[0] = '\0';
	rc = validate_enroll(root, er, err, sizeof(err));
	if (field == NULL && rc != 0)
		fail_msg("refused: %s", err);
	if (field != NULL &&
	    (rc != -1 || strncmp(err, field, strlen(field)) != 0 ||
		err[strlen(field)] != ':'))
		fail_msg("not refused on %s: %d \"%s\"", field, rc, err);
	return err;
}

static void
enroll_good_body_is_accepted(void **state)
{
	json_t		 *root = good_enroll("s3cret");
	struct enroll_req er;

	(void)state;
	enroll(root, &er, NULL);
	assert_string_equal(er.node_id, NODE_ID);
	assert_string_equal(er.hostname, "web-1");
	assert_string_equal(er.os_profile, "debian-12");
	assert_string_equal(er.agent_version, "0.1.0");
	assert_string_equal(er.enroll_secret, "s3cret");
	json_decref(root);
}

/* enroll_secret and enroll_key absent, null, or (the secret) empty: none. */
static void
enroll_optional_fields_absent_or_null_are_none(void **state)
{
	static const struct {
		const char *field, *value;
	} none[] = {
		{ "enroll_secret", NULL },
		{ "enroll_secret", "null" },
		{ "enroll_secret", "\"\"" },
		{ "enroll_key", NULL },
		{ "enroll_key", "null" },
	};
	struct enroll_req er;

	(void)state;
	for (size_t i = 0; i < TL_NITEMS(none); i++) {
		json_t *root = good_enroll(NULL);

		if (none[i].value != NULL)
			json_object_set_new(root, none[i].field,
			    json_loads(none[i].value, JSON_DECODE_ANY, NULL));
		enroll(root, &er, NULL);
		if ((strcmp(none[i].field, "enroll_key") == 0 ?
			    er.enroll_key :
			    er.enroll_secret) != NULL)
			fail_msg("%s %s is not none", none[i].field,
			    none[i].value ? none[i].value : "absent");
		json_decref(root);
	}
}

static void
enroll_key_must_be_43_base64url_characters(void **state)
{
	static const char *const bad[] = {
		"",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",	/* 42 */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 44 */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+", /* not url-safe */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ",
	};
	const char	 *good = "Zm9vYmFyLV9fXy0tMDEyMzQ1Njc4OWFiY2RlZmdoaWp";
	json_t		 *root = good_enroll(NULL);
	struct enroll_req er;

	(void)state;
	assert_int_equal(strlen(good), 43);
	json_object_set_new(root, "enroll_key", json_string(good));
	enroll(root, &er, NULL);
	assert_string_equal(er.enroll_key, good);
	for (size_t i = 0; i < TL_NITEMS(bad); i++) {
		json_object_set_new(root, "enroll_key", json_string(bad[i]));
		enroll(root, &er, "enroll_key");
	}
	json_object_set_new(root, "enroll_key", json_integer(7));
	enroll(root, &er, "enroll_key");
	json_decref(root);
}

static void
enroll_secret_length_limit(void **state)
{
	char		  secret[258];
	json_t		 *root;
	struct enroll_req er;

	(void)state;
	memset(secret, 's', sizeof(secret));
	secret[256] = '\0';
	root = good_enroll(secret);
	enroll(root, &er, NULL);
	assert_int_equal(strlen(er.enroll_secret), 256);
	json_decref(root);
	secret[256] = 's';
	secret[257] = '\0';
	root = good_enroll(secret);
	/* The error never echoes the secret. */
	assert_null(strstr(enroll(root, &er, "enroll_secret"), "ssssssss"));
	json_decref(root);
}

static void
enroll_secret_of_wrong_type_is_named(void **state)
{
	json_t		 *root = good_enroll(NULL);
	struct enroll_req er;

	(void)state;
	json_object_set_new(root, "enroll_secret", json_integer(1234));
	enroll(root, &er, "enroll_secret");
	json_decref(root);
}

static void
enroll_each_required_field_missing_or_bad_is_named(void **state)
{
	static const char *const req[] = {
		"node_id",
		"hostname",
		"os_profile",
		"agent_version",
	};
	struct enroll_req er;

	(void)state;
	for (size_t i = 0; i < TL_NITEMS(req); i++) {
		json_t *root = good_enroll("x");

		json_object_del(root, req[i]);
		enroll(root, &er, req[i]);
		json_object_set_new(root, req[i], json_integer(1));
		enroll(root, &er, req[i]);
		json_object_set_new(root, req[i], json_string(""));
		enroll(root, &er, req[i]);
		json_decref(root);
	}
}

static void
enroll_body_must_be_an_object(void **state)
{
	json_t		 *root = json_array();
	struct enroll_req er;

	(void)state;
	enroll(root, &er, "body");
	json_decref(root);
}

static void
validate_hostname_and_profile_directly(void **state)
{
	static const char *const hosts[] = { "a", "with space" };
	static const char *const not_hosts[] = { "", "tab\there" };
	static const char *const profiles[] = { "debian-12", "a.b_c-D9" };
	static const char *const not_profiles[] = { "", "a/b", "a b",
		"\xc3\xa9" };

	(void)state;
	TL_EXPECT_SPLIT(validate_hostname, hosts, not_hosts);
	TL_EXPECT_SPLIT(validate_profile, profiles, not_profiles);
}

/* ---- the fast path (yajl) against the full validator ------------------ */

/* Runs both on text; the fast path's verdict; equal fields when it took. */
static int
fast_vs_full(const char *text)
{
	struct heartbeat  fast, full;
	struct hb_strings hs;
	json_t		 *root;
	char		  err[256];
	int		  rc;

	rc = validate_heartbeat_fast(text, strlen(text), &fast, &hs);
	assert_int_not_equal(rc, -1);
	if (rc == 0) {
		assert_null(fast.json);
		return 0;
	}
	root = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(root);
	assert_int_equal(validate_heartbeat_raw(root, text, strlen(text), &full,
			     err, sizeof(err)),
	    0);
	assert_string_equal(fast.node_id, full.node_id);
	assert_string_equal(fast.hostname, full.hostname);
	assert_string_equal(fast.os_profile, full.os_profile);
	assert_string_equal(fast.agent_version, full.agent_version);
	assert_int_equal(fast.cloudflare, full.cloudflare);
	assert_int_equal(fast.services_down, full.services_down);
	assert_true(
	    isnan(fast.load1) ? isnan(full.load1) : fast.load1 == full.load1);
	assert_true(isnan(fast.mem_used_pct) ?
		isnan(full.mem_used_pct) :
		fast.mem_used_pct == full.mem_used_pct);
	assert_string_equal(fast.json, text);
	assert_string_equal(full.json, text);
	free(fast.json);
	free(full.json);
	json_decref(root);
	return 1;
}

/* good_heartbeat() with field's value the JSON text value, compact. */
static char *
hb_text_with(const char *field, const char *value)
{
	json_t *root = good_heartbeat();
	char   *text, *out, *at;
	size_t	len;

	if (field != NULL) /* a placeholder, then the text as it is */
		json_object_set_new(root, field, json_string("@@"));
	text = json_dumps(root,
	    JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	assert_non_null(text);
	json_decref(root);
	if (field == NULL)
		return text;
	at = strstr(text, "\"@@\"");
	assert_non_null(at);
	len = strlen(text) + strlen(value) + 1;
	out = malloc(len);
	assert_non_null(out);
	snprintf(out, len, "%.*s%s%s", (int)(at - text), text, value, at + 4);
	free(text);
	return out;
}

/* good_heartbeat() with field's value the JSON text value (NULL: as is). */
struct fast_case {
	const char *field, *value;
};

/* Expects the fast path to take each case (taken 1) or leave it (0). */
static void
expect_fast_path(const struct fast_case *c, size_t n, int taken)
{
	for (size_t i = 0; i < n; i++) {
		char *text = hb_text_with(c[i].field, c[i].value);

		if (fast_vs_full(text) != taken)
			fail_msg("the fast path %s %s",
			    taken ? "refused" : "took", text);
		free(text);
	}
}

/* json_plain() one byte at a time, as the fast path read bodies before. */
static int
plain_ref(const unsigned char *p, size_t n, size_t *quotes)
{
	*quotes = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\' || p[i] >= 0x7f ||
		    (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' &&
			p[i] != '\r'))
			return 0;
		*quotes += p[i] == '"';
	}
	return 1;
}

/*
 * The word-at-a-time scan agrees with the bytewise rule: every byte value
 * at every position of buffers up to 24 bytes (each alignment of the
 * eight-byte words and the tail), then random mixes of the bytes that
 * matter and their neighbours.
 */
static void
json_plain_matches_the_bytewise_rule(void **state)
{
	static const unsigned char mix[] = { 'a', '"', '\\', 0x7f, 0x80, 0xff,
		0x1f, 0x20, '\t', '\n', '\r', 0x00, 0x5b, 0x5d, 0x21, 0x7e };
	unsigned char		   b[72];
	size_t			   q, qr;
	unsigned int		   seed = 12345;

	(void)state;
	for (size_t n = 1; n <= 24; n++)
		for (size_t at = 0; at < n; at++)
			for (int c = 0; c < 256; c++) {
				memset(b, 'a', n);
				b[at] = (unsigned char)c;
				b[(at + 5) % n] = b[(at + 5) % n] == 'a' ?
				    '"' :
				    b[(at + 5) % n];
				assert_int_equal(json_plain((char *)b, n, &q),
				    plain_ref(b, n, &qr));
				if (plain_ref(b, n, &qr))
					assert_int_equal(q, qr);
			}
	for (int r = 0; r < 200000; r++) {
		size_t n = (size_t)(rand_r(&seed) % (int)sizeof(b));

		for (size_t i = 0; i < n; i++)
			b[i] = rand_r(&seed) % 4 ?
			    'a' :
			    mix[rand_r(&seed) % (int)sizeof(mix)];
		assert_int_equal(json_plain((char *)b, n, &q),
		    plain_ref(b, n, &qr));
		if (plain_ref(b, n, &qr))
			assert_int_equal(q, qr);
	}
	assert_int_equal(json_plain("", 0, &q), 1);
	assert_int_equal(q, 0);
}

static void
heartbeat_fast_path_takes_what_agents_send(void **state)
{
	static const struct fast_case ok[] = {
		{ NULL, NULL },
		{ "load1", "null" },
		{ "mem_used_pct", "null" },
		{ "uptime_secs", "null" },
		{ "root_disk_used_pct", "null" },
		{ "load1", "0" },
		{ "mem_used_pct", "100" },
		{ "uptime_secs", "100000000000" },
		{ "load1", "1e6" },
		{ "cloudflare", "\"down\"" },
		{ "cloudflare", "\"unknown\"" },
		{ "services", "[]" },
		{ "services",
		    "[{\"state\":\"failed\",\"name\":\"a.service\"}]" },
		{ "sent_at", "\"2026-02-28T23:59:59.123+05:30\"" },
	};
	json_t *root;
	char   *text;

	(void)state;
	expect_fast_path(ok, TL_NITEMS(ok), 1);
	/* Whitespace as a pretty printer puts it. */
	root = good_heartbeat();
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	assert_int_equal(fast_vs_full(text), 1);
	free(text);
	json_decref(root);
	/* A failed service marks the node. */
	text = hb_text_with("services",
	    "[{\"name\":\"a.service\",\"state\":\"inactive\"}]");
	{
		struct heartbeat  hb;
		struct hb_strings hs;

		assert_int_equal(
		    validate_heartbeat_fast(text, strlen(text), &hb, &hs), 1);
		assert_int_equal(hb.services_down, 1);
		free(hb.json);
	}
	free(text);
}

static void
heartbeat_fast_path_leaves_the_rest_to_the_validator(void **state)
{
	static const struct fast_case bad[] = {
		{ "extra", "1" }, /* kept only by the full one */
		{ "hostname", "\"web\\u002d1\"" }, /* an escape */
		{ "hostname", "\"h\xc3\xa9te\"" }, /* past ASCII */
		{ "hostname", "\"\"" },
		{ "node_id", "\"0B5E3C1A-7D2F-4C3E-9A1B-2C3D4E5F6A7B\"" },
		{ "os_profile", "\"a b\"" },
		{ "agent_version", "\"\"" },
		{ "uptime_secs", "1.5" },
		{ "uptime_secs", "-1" },
		{ "uptime_secs", "12345678901234567890" },
		{ "uptime_secs", "100000000001" },
		{ "load1", "1e400" },
		{ "load1", "-0.5" },
		{ "load1", "true" },
		{ "mem_used_pct", "100.5" },
		{ "root_disk_used_pct", "\"1\"" },
		{ "cloudflare", "\"sideways\"" },
		{ "cloudflare", "null" },
		{ "services", "null" },
		{ "services", "{}" },
		{ "services", "[{\"name\":\"a.service\"}]" },
		{ "services",
		    "[{\"name\":\"a.service\",\"state\":\"active\","
		    "\"x\":1}]" },
		{ "services", "[{\"name\":\"a b\",\"state\":\"active\"}]" },
		{ "services",
		    "[{\"name\":\"a.service\",\"state\":\"Active\"}]" },
		{ "services", "[[]]" },
		{ "sent_at", "\"yesterday\"" },
		{ "sent_at", "0" },
	};
	static const char *const texts[] = {
		"",
		"[]",
		"{}",
		"null",
		"{\"node_id\":",
		"not json",
	};
	struct heartbeat  hb;
	struct hb_strings hs;
	char		 *text, *big;
	size_t		  n;

	(void)state;
	expect_fast_path(bad, TL_NITEMS(bad), 0);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		assert_int_equal(fast_vs_full(texts[i]), 0);

	/* Around the document: garbage, a second one, a string left open. */
	text = hb_text_with(NULL, NULL);
	n = strlen(text);
	big = malloc(2 * n + 8);
	assert_non_null(big);
	snprintf(big, 2 * n + 8, "%s x", text);
	assert_int_equal(fast_vs_full(big), 0);
	snprintf(big, 2 * n + 8, "%s%s", text, text);
	assert_int_equal(fast_vs_full(big), 0);
	snprintf(big, 2 * n + 8, "%s\"", text);
	assert_int_equal(fast_vs_full(big), 0);
	snprintf(big, 2 * n + 8, "%s \n", text);
	assert_int_equal(fast_vs_full(big), 1);
	/* A key twice. */
	snprintf(big, 2 * n + 8, "{\"hostname\":\"x\",%s", text + 1);
	assert_int_equal(fast_vs_full(big), 0);
	/* Cut short. */
	assert_int_equal(validate_heartbeat_fast(text, n - 1, &hb, &hs), 0);
	free(big);
	free(text);

	/* More than SERVICES_MAX entries, and more than HEARTBEAT_RAW_MAX. */
	{
		json_t *root = good_heartbeat(), *svcs = json_array();

		for (int i = 0; i <= SERVICES_MAX; i++)
			json_array_append_new(svcs,
			    json_pack("{s:s, s:s}", "name", "a.service",
				"state", "active"));
		json_object_set_new(root, "services", svcs);
		text = json_dumps(root, JSON_COMPACT);
		assert_int_equal(fast_vs_full(text), 0);
		free(text);
		json_array_remove(svcs, 0);
		text = json_dumps(root, JSON_INDENT(8));
		assert_true(strlen(text) > HEARTBEAT_RAW_MAX);
		assert_int_equal(fast_vs_full(text), 0);
		free(text);
		json_decref(root);
	}
}

static void
labels_are_checked_and_made_canonical(void **state)
{
	char	out[LABELS_JSON_MAX + 1], err[160];
	json_t *o;

	(void)state;
	assert_true(validate_label("a"));
	assert_true(validate_label("0a._-z"));
	assert_false(validate_label(""));
	assert_false(validate_label("-a"));
	assert_false(validate_label(".a"));
	assert_false(validate_label("A"));
	assert_false(validate_label("a b"));
	assert_false(validate_label("\xc3\xa9"));
	{
		char long_one[LABEL_MAX + 2];

		memset(long_one, 'a', sizeof(long_one));
		long_one[LABEL_MAX] = '\0';
		assert_true(validate_label(long_one));
		long_one[LABEL_MAX] = 'a';
		long_one[LABEL_MAX + 1] = '\0';
		assert_false(validate_label(long_one));
	}
	o = json_pack("{s:s, s:s}", "site", "ams", "role", "db");
	assert_int_equal(validate_labels(o, out, sizeof(out), err, sizeof(err)),
	    0);
	assert_string_equal(out, "{\"role\":\"db\",\"site\":\"ams\"}");
	json_decref(o);
	o = json_pack("{s:i}", "role", 1);
	assert_int_equal(validate_labels(o, out, sizeof(out), err, sizeof(err)),
	    -1);
	json_decref(o);
	assert_int_equal(
	    validate_labels(NULL, out, sizeof(out), err, sizeof(err)), -1);
	assert_int_equal(validate_labels_text(" role=db,site=ams\ttier=2 ", out,
			     sizeof(out), err, sizeof(err)),
	    0);
	assert_string_equal(out,
	    "{\"role\":\"db\",\"site\":\"ams\",\"tier\":\"2\"}");
	assert_int_equal(
	    validate_labels_text("", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "{}");
	assert_int_equal(
	    validate_labels_text("a=1 a=2", out, sizeof(out), err, sizeof(err)),
	    -1);
	assert_int_equal(
	    validate_labels_text("a", out, sizeof(out), err, sizeof(err)), -1);
	assert_int_equal(
	    validate_labels_text("a=", out, sizeof(out), err, sizeof(err)), -1);
	/* The most there can be fits the buffer the callers give. */
	{
		char text[LABELS_MAX * (2 * LABEL_MAX + 2) + 8], *p = text;

		for (int k = 0; k < LABELS_MAX; k++) {
			p += sprintf(p, "%02d", k);
			memset(p, 'k', LABEL_MAX - 2);
			p += LABEL_MAX - 2;
			*p++ = '=';
			memset(p, 'v', LABEL_MAX);
			p += LABEL_MAX;
			*p++ = ' ';
		}
		*p = '\0';
		assert_int_equal(validate_labels_text(text, out, sizeof(out),
				     err, sizeof(err)),
		    0);
		/* One more is refused. */
		assert_int_equal(validate_labels_text("zz=1 ", out, sizeof(out),
				     err, sizeof(err)),
		    0);
		strcat(text, "zz=1");
		assert_int_equal(validate_labels_text(text, out, sizeof(out),
				     err, sizeof(err)),
		    -1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(heartbeat_good_body_is_accepted),
		cmocka_unit_test(
		    heartbeat_canonical_json_keeps_only_contract_fields),
		cmocka_unit_test(
		    heartbeat_each_fields_values_are_taken_or_named),
		cmocka_unit_test(heartbeat_each_field_missing_is_named),
		cmocka_unit_test(heartbeat_missing_field_error_says_required),
		cmocka_unit_test(heartbeat_each_field_wrong_type_is_named),
		cmocka_unit_test(heartbeat_numeric_facts_may_be_null),
		cmocka_unit_test(heartbeat_body_must_be_an_object),
		cmocka_unit_test(
		    heartbeat_huge_number_from_text_is_out_of_range),
		cmocka_unit_test(heartbeat_strings_have_length_limits),
		cmocka_unit_test(heartbeat_cloudflare_states_are_read),
		cmocka_unit_test(heartbeat_services_count_limit),
		cmocka_unit_test(heartbeat_services_down_computed_from_states),
		cmocka_unit_test(
		    heartbeat_error_text_starts_with_field_and_fits),
		cmocka_unit_test(
		    heartbeat_first_bad_field_in_contract_order_is_reported),
		cmocka_unit_test(heartbeat_fast_path_takes_what_agents_send),
		cmocka_unit_test(
		    heartbeat_fast_path_leaves_the_rest_to_the_validator),
		cmocka_unit_test(json_plain_matches_the_bytewise_rule),
		cmocka_unit_test(enroll_good_body_is_accepted),
		cmocka_unit_test(
		    enroll_optional_fields_absent_or_null_are_none),
		cmocka_unit_test(enroll_secret_length_limit),
		cmocka_unit_test(enroll_key_must_be_43_base64url_characters),
		cmocka_unit_test(enroll_secret_of_wrong_type_is_named),
		cmocka_unit_test(
		    enroll_each_required_field_missing_or_bad_is_named),
		cmocka_unit_test(enroll_body_must_be_an_object),
		cmocka_unit_test(validate_hostname_and_profile_directly),
		cmocka_unit_test(labels_are_checked_and_made_canonical),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
