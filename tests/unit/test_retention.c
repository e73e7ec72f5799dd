/* Retention rules without a store: policy parsing, barman's verdicts, and
 * which WAL files the deletion of a backup makes useless. */
#include <string.h>

#include "check.h"
#include "retention/policy.h"

#define DAY 86400
#define NOW ((time_t)1800000000)

static bc_retention_backup done(const char *id, uint32_t tli, unsigned begin, unsigned end,
                                int days_ago, bc_keep_target keep)
{
    bc_retention_backup b = {.readable = 1, .status = BC_BACKUP_DONE, .keep = keep,
                             .has_end_time = 1, .end_time = NOW - days_ago * DAY,
                             .timeline = tli};
    snprintf(b.id, sizeof b.id, "%s", id);
    snprintf(b.begin_wal, sizeof b.begin_wal, "%08X%08X%08X", tli, 0u, begin);
    snprintf(b.end_wal, sizeof b.end_wal, "%08X%08X%08X", tli, 0u, end);
    return b;
}

static void test_parse(void)
{
    bc_retention_policy p;
    char text[64];
    CHECK(bc_retention_policy_parse("REDUNDANCY 3", &p) == BC_OK);
    CHECK(p.kind == BC_POLICY_REDUNDANCY && p.value == 3);
    CHECK(bc_retention_policy_parse("  redundancy   12 ", &p) == BC_OK && p.value == 12);
    CHECK(bc_retention_policy_parse("RECOVERY WINDOW OF 30 DAYS", &p) == BC_OK);
    CHECK(p.kind == BC_POLICY_RECOVERY_WINDOW && p.value == 30 && p.unit == 'd');
    CHECK(bc_retention_window_seconds(&p) == 30 * DAY);
    CHECK(bc_retention_policy_parse("recovery window of 1 week", &p) == BC_OK && p.unit == 'w');
    CHECK(bc_retention_window_seconds(&p) == 7 * DAY);
    CHECK(bc_retention_policy_parse("Recovery  Window Of 6 Months", &p) == BC_OK);
    CHECK(p.unit == 'm' && bc_retention_window_seconds(&p) == 6 * 31 * DAY);
    bc_retention_policy_format(&p, text, sizeof text);
    CHECK(strcmp(text, "RECOVERY WINDOW OF 6 MONTHS") == 0);
    CHECK(bc_retention_policy_parse("30d", &p) == BC_OK && p.value == 30 && p.unit == 'd');
    CHECK(bc_retention_policy_parse("4w", &p) == BC_OK && p.unit == 'w');
    CHECK(bc_retention_policy_parse("6M", &p) == BC_OK && p.unit == 'm');
    bc_retention_policy_format(&p, text, sizeof text);
    CHECK(strcmp(text, "RECOVERY WINDOW OF 6 MONTHS") == 0);

    const char *bad[] = {"", "REDUNDANCY", "REDUNDANCY 0", "REDUNDANCY -1", "REDUNDANCY2",
                         "REDUNDANCY 2 x", "RECOVERY WINDOW 3 DAYS", "RECOVERY WINDOW OF DAYS",
                         "RECOVERY WINDOW OF 3 YEARS", "RECOVERY WINDOW OF 3 DAYSS", "3",
                         "3y", "d3", "99999999999d", "30 d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(bc_retention_policy_parse(bad[i], &p) == BC_ERR_USAGE);
    }
}

static void test_keep_target(void)
{
    CHECK(bc_keep_target_parse("full", 4) == BC_KEEP_FULL);
    CHECK(bc_keep_target_parse("standalone", 10) == BC_KEEP_STANDALONE);
    /* barman compares the first line, newline included */
    CHECK(bc_keep_target_parse("standalone\n", 11) == BC_KEEP_FULL);
    CHECK(bc_keep_target_parse("", 0) == BC_KEEP_NONE);
}

static void test_redundancy(void)
{
    bc_retention_backup b[5] = {
        done("20260101T000000", 1, 2, 3, 50, BC_KEEP_NONE),
        done("20260102T000000", 1, 5, 6, 40, BC_KEEP_NONE),
        done("20260103T000000", 1, 8, 9, 30, BC_KEEP_FULL),
        done("20260104T000000", 1, 11, 11, 20, BC_KEEP_NONE),
        done("20260105T000000", 1, 13, 14, 10, BC_KEEP_NONE),
    };
    b[3].status = BC_BACKUP_FAILED;
    bc_retention_policy p = {.kind = BC_POLICY_REDUNDANCY, .value = 2};
    /* newest DONE first: 05 valid, 03 kept (counts), 02 and 01 obsolete */
    CHECK(bc_retention_classify(&p, NOW, b, 5) == 2);
    CHECK(b[4].verdict == BC_VERDICT_VALID);
    CHECK(b[3].verdict == BC_VERDICT_NONE);
    CHECK(b[2].verdict == BC_VERDICT_KEEP_FULL);
    CHECK(b[1].verdict == BC_VERDICT_OBSOLETE && b[0].verdict == BC_VERDICT_OBSOLETE);
    p.value = 5;
    CHECK(bc_retention_classify(&p, NOW, b, 5) == 0);
    /* a removed backup is not counted */
    b[4].removed = 1;
    p.value = 2;
    CHECK(bc_retention_classify(&p, NOW, b, 5) == 1 && b[0].verdict == BC_VERDICT_OBSOLETE);
}

static void test_window(void)
{
    bc_retention_backup b[4] = {
        done("20260101T000000", 1, 2, 3, 50, BC_KEEP_NONE),
        done("20260102T000000", 1, 5, 6, 40, BC_KEEP_STANDALONE),
        done("20260103T000000", 1, 8, 9, 30, BC_KEEP_NONE),
        done("20260104T000000", 1, 11, 11, 5, BC_KEEP_NONE),
    };
    bc_retention_policy p = {.kind = BC_POLICY_RECOVERY_WINDOW, .value = 10, .unit = 'd'};
    /* 04 is inside the window; 03 is the base of its start; older go */
    CHECK(bc_retention_classify(&p, NOW, b, 4) == 1);
    CHECK(b[3].verdict == BC_VERDICT_VALID && b[2].verdict == BC_VERDICT_VALID);
    CHECK(b[1].verdict == BC_VERDICT_KEEP_STANDALONE && b[0].verdict == BC_VERDICT_OBSOLETE);
    /* a window shorter than the newest backup's age keeps that one */
    p.value = 1;
    CHECK(bc_retention_classify(&p, NOW, b, 4) == 2 && b[3].verdict == BC_VERDICT_VALID);
    /* a DONE backup without end time never closes the window */
    b[3].has_end_time = 0;
    CHECK(bc_retention_classify(&p, NOW, b, 4) == 1 && b[2].verdict == BC_VERDICT_VALID);
}

static void test_abandoned(void)
{
    bc_retention_backup b[6];
    for (unsigned i = 0; i < 6; i++) {
        char id[16];
        snprintf(id, sizeof id, "2026010%uT000000", i + 1);
        b[i] = done(id, 1, 2 + 3 * i, 3 + 3 * i, 50 - 9 * (int)i, BC_KEEP_NONE);
    }
    b[0].status = BC_BACKUP_STARTED;   /* killed, long ago */
    b[1].status = BC_BACKUP_FAILED;    /* barman keeps failed ones */
    b[2].status = BC_BACKUP_STARTED;
    b[2].keep = BC_KEEP_FULL;          /* annotated: left alone */
    b[5].status = BC_BACKUP_STARTED;   /* newer than every DONE one: may be running */
    bc_retention_policy p = {.kind = BC_POLICY_REDUNDANCY, .value = 5};
    CHECK(bc_retention_classify(&p, NOW, b, 6) == 1);
    CHECK(b[0].verdict == BC_VERDICT_ABANDONED);
    CHECK(b[1].verdict == BC_VERDICT_NONE && b[2].verdict == BC_VERDICT_NONE);
    CHECK(b[3].verdict == BC_VERDICT_VALID && b[4].verdict == BC_VERDICT_VALID);
    CHECK(b[5].verdict == BC_VERDICT_NONE);
    /* whatever the policy keeps, and counted with the obsolete ones */
    p.value = 1;
    CHECK(bc_retention_classify(&p, NOW, b, 6) == 2);
    CHECK(b[3].verdict == BC_VERDICT_OBSOLETE && b[0].verdict == BC_VERDICT_ABANDONED);
    bc_retention_policy w = {.kind = BC_POLICY_RECOVERY_WINDOW, .value = 60, .unit = 'd'};
    CHECK(bc_retention_classify(&w, NOW, b, 6) == 1 && b[0].verdict == BC_VERDICT_ABANDONED);
    /* without a DONE backup after it, a STARTED one may be running */
    b[3].status = b[4].status = BC_BACKUP_FAILED;
    CHECK(bc_retention_classify(&p, NOW, b, 6) == 0 && b[0].verdict == BC_VERDICT_NONE);
}

static void test_wal_plan(void)
{
    bc_retention_backup b[4] = {
        done("20260101T000000", 1, 2, 3, 50, BC_KEEP_NONE),
        done("20260102T000000", 1, 5, 6, 40, BC_KEEP_STANDALONE),
        done("20260103T000000", 1, 8, 9, 30, BC_KEEP_NONE),
        done("20260104T000000", 2, 20, 21, 5, BC_KEEP_NONE),
    };
    bc_retention_wal_plan plan;

    /* the oldest: everything before the next backup's begin WAL */
    CHECK(bc_retention_plan_wal(b, 4, 0, 1, &plan) == BC_OK && plan.remove);
    CHECK(strcmp(plan.before, "000000010000000000000005") == 0);
    CHECK(bc_retention_wal_removable(&plan, "000000010000000000000004"));
    CHECK(bc_retention_wal_removable(&plan, "000000010000000000000002.00000028.backup"));
    CHECK(bc_retention_wal_removable(&plan, "000000010000000000000004.partial"));
    CHECK(!bc_retention_wal_removable(&plan, "000000010000000000000005"));
    CHECK(!bc_retention_wal_removable(&plan, "00000001.history"));
    /* timeline 2 has a backup of its own: protected */
    CHECK(!bc_retention_wal_removable(&plan, "000000020000000000000001"));
    bc_retention_wal_plan_free(&plan);
    b[0].removed = 1;

    /* behind a standalone backup: only for a policy, and its range stays
     * (all on timeline 1 here, so no timeline is protected) */
    b[3] = done("20260104T000000", 1, 20, 21, 5, BC_KEEP_NONE);
    CHECK(bc_retention_plan_wal(b, 4, 2, 0, &plan) == BC_OK && !plan.remove);
    bc_retention_wal_plan_free(&plan);
    CHECK(bc_retention_plan_wal(b, 4, 2, 1, &plan) == BC_OK && plan.remove);
    CHECK(strcmp(plan.before, "000000010000000000000014") == 0);
    CHECK(bc_retention_wal_removable(&plan, "000000010000000000000004"));
    CHECK(!bc_retention_wal_removable(&plan, "000000010000000000000005"));
    CHECK(!bc_retention_wal_removable(&plan, "000000010000000000000006"));
    CHECK(!bc_retention_wal_removable(&plan, "000000010000000000000005.00000028.backup"));
    CHECK(bc_retention_wal_removable(&plan, "000000010000000000000007"));
    CHECK(bc_retention_wal_removable(&plan, "000000010000000000000013"));
    CHECK(!bc_retention_wal_removable(&plan, "000000010000000000000014"));
    bc_retention_wal_plan_free(&plan);

    /* the standalone backup's own timeline differs from the next one's:
     * that timeline is protected as a whole */
    b[3] = done("20260104T000000", 2, 20, 21, 5, BC_KEEP_NONE);
    CHECK(bc_retention_plan_wal(b, 4, 2, 1, &plan) == BC_OK && plan.remove);
    CHECK(!bc_retention_wal_removable(&plan, "000000010000000000000004"));
    CHECK(bc_retention_wal_removable(&plan, "000000020000000000000013"));
    bc_retention_wal_plan_free(&plan);

    /* behind a plain backup: nothing */
    b[1].keep = BC_KEEP_NONE;
    CHECK(bc_retention_plan_wal(b, 4, 2, 1, &plan) == BC_OK && !plan.remove);
    bc_retention_wal_plan_free(&plan);

    /* an unreadable folder older than the bound blocks the plan */
    b[0].removed = 0;
    b[0].readable = 0;
    b[1].removed = 1;
    CHECK(bc_retention_plan_wal(b, 4, 2, 1, &plan) == BC_OK && !plan.remove);
    CHECK(plan.blocked_by && strcmp(plan.blocked_by, "20260101T000000") == 0);
    bc_retention_wal_plan_free(&plan);
}

int main(void)
{
    test_parse();
    test_keep_target();
    test_redundancy();
    test_window();
    test_abandoned();
    test_wal_plan();
    return check_report("retention");
}
