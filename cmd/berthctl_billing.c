/* SPDX-License-Identifier: MIT */
/* berthctl_billing.c: berthctl verbs for billing reports: billing report, cur, ledger, prices. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/berthctl.h"

static const struct awsclient_member report_members[] = {
	{ "start", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "end", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "groupBy", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "granularity", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "format", AWSCLIENT_STRING, 0, NULL, NULL },
	{ NULL },
};

static const struct awsclient_member cur_members[] = {
	{ "start", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "end", AWSCLIENT_STRING, 0, NULL, NULL },
	{ NULL },
};

static const struct awsclient_member none_members[] = {
	{ NULL },
};

static int build_query(const json_t *req, char *pq, size_t len, const char *base)
{
	static const char *const keys[][2] = {
		{ "start", "start" }, { "end", "end" }, { "groupBy", "group_by" },
		{ "granularity", "granularity" }, { "format", "format" },
	};

	snprintf(pq, len, "%s", base);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = req_str(req, keys[i][0]);
		if (v && add_query(pq, len, keys[i][1], v) < 0)
			return usage_error("--%s is too long", keys[i][1]);
	}
	return 0;
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void table_row(const char *key, json_t *g)
{
	printf("%-36.36s %6lld %12.4f %12.4f %14s %14s %14s %9.2f%%\n", key,
	       (long long)json_integer_value(json_object_get(g, "tasks")),
	       json_number_value(json_object_get(g, "vcpuHours")),
	       json_number_value(json_object_get(g, "gbHours")), str(g, "reservedCost"),
	       str(g, "usedCost"), str(g, "idleCost"),
	       json_number_value(json_object_get(g, "efficiency")));
}

/* The readable table of a JSON report. */
static int print_table(json_t *doc)
{
	json_t *groups = json_object_get(doc, "groups"), *g;
	size_t i;

	printf("Billing report %s .. %s by %s (%s)\n\n", str(doc, "start"), str(doc, "end"),
	       str(doc, "groupBy"), str(doc, "currency"));
	printf("%-36s %6s %12s %12s %14s %14s %14s %10s\n", "KEY", "TASKS", "VCPU-HOURS",
	       "GB-HOURS", "RESERVED", "USED", "IDLE", "EFFICIENCY");
	json_array_foreach(groups, i, g)
		table_row(str(g, "key"), g);
	printf("%.*s\n", 36 + 7 + 13 * 2 + 15 * 3 + 11, "--------------------------------------"
	       "------------------------------------------------------------------------------"
	       "------------------------------------------");
	table_row("TOTAL", json_object_get(doc, "totals"));
	if (json_object_get(doc, "ledgerErrors"))
		printf("\nwarning: the ledger has damaged records: %s\n",
		       str(json_object_get(doc, "ledgerErrors"), "lastError"));
	return 0;
}

static int cmd_report(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	char pq[4096];
	const char *fmt = req_str(req, "format");
	struct sink s = { 0 };
	json_t *doc;
	int ret = build_query(req, pq, sizeof(pq), "/v1/billing/report");

	if (ret)
		return ret;
	if ((fmt && !strcmp(fmt, "csv")) || strcmp(cli->g.output, "table"))
		return fmt && !strcmp(fmt, "csv")
		       ? rest_call(cli, v->op.name, "GET", pq, NULL, NULL, stdout_write, NULL, 0)
		       : rest_json(cli, v->op.name, "GET", pq, NULL, NULL, 0);
	ret = rest_call(cli, v->op.name, "GET", pq, NULL, NULL, sink_write, &s, 0);
	if (ret == 0) {
		doc = s.buf ? json_loads(s.buf, 0, NULL) : NULL;
		if (!doc) {
			fprintf(stderr, "berthctl: the report is not JSON\n");
			ret = EXIT_GENERAL;
		} else {
			print_table(doc);
		}
		json_decref(doc);
	}
	free(s.buf);
	return ret;
}

static int cmd_cur(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	char pq[4096];
	int ret = build_query(req, pq, sizeof(pq), "/v1/billing/cur");

	if (ret)
		return ret;
	return rest_call(cli, v->op.name, "GET", pq, NULL, NULL, stdout_write, NULL, 0);
}

static int cmd_ledger(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	(void)req;
	return rest_json(cli, v->op.name, "GET", "/v1/billing/ledger", NULL, NULL, 0);
}

static int cmd_prices(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	(void)req;
	return rest_json(cli, v->op.name, "GET", "/v1/billing/prices", NULL, NULL, 0);
}

const struct rest_verb ctl_billing_verbs[] = {
	{ "billing report", "", { NULL },
	  { "GetBillingReport", report_members, NULL,
	    "Reserved vCPU-hours, GB-hours and reserved, used and idle cost per group: --start "
	    "and --end (2026-11-01, 2026-11-01T10:00:00Z or unix seconds; default this month), "
	    "--group-by cluster|service|family|task|tag:KEY, --granularity hourly|daily|monthly, "
	    "--format json|csv; --output table prints a table." }, cmd_report },
	{ "billing cur", "", { NULL },
	  { "GetBillingCur", cur_members, NULL,
	    "Prints the split cost allocation CSV (CUR split_line_item_* columns) for --start "
	    "and --end." }, cmd_cur },
	{ "billing ledger", "", { NULL },
	  { "GetBillingLedger", none_members, NULL,
	    "Describes the usage ledger: segments, their health, records written." }, cmd_ledger },
	{ "billing prices", "", { NULL },
	  { "GetBillingPrices", none_members, NULL, "Lists the price sheets in force." },
	  cmd_prices },
};
const size_t ctl_n_billing_verbs = sizeof(ctl_billing_verbs) / sizeof(ctl_billing_verbs[0]);
