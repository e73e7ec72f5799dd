#include "retention/policy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_POLICY_VALUE 100000u

static const char policy_help[] =
    "use \"REDUNDANCY N\", \"RECOVERY WINDOW OF N DAYS|WEEKS|MONTHS\" or 30d / 4w / 6m";

static const char *skip_space(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return s;
}

/* Matches a keyword, case-insensitively; returns the text after it or NULL. */
static const char *word(const char *s, const char *kw)
{
    size_t n = strlen(kw);
    return strncasecmp(s, kw, n) == 0 ? s + n : NULL;
}

/* One or more spaces, then a word. */
static const char *spaced_word(const char *s, const char *kw)
{
    if (!s || !isspace((unsigned char)*s))
        return NULL;
    return word(skip_space(s), kw);
}

static const char *number(const char *s, unsigned *value)
{
    if (!s || !isdigit((unsigned char)*s))
        return NULL;
    unsigned long v = 0;
    while (isdigit((unsigned char)*s)) {
        v = v * 10 + (unsigned)(*s++ - '0');
        if (v > MAX_POLICY_VALUE)
            return NULL;
    }
    *value = (unsigned)v;
    return s;
}

bc_status bc_retention_policy_parse(const char *text, bc_retention_policy *out)
{
    static const struct { const char *name; char unit; } units[] = {
        {"day", 'd'}, {"week", 'w'}, {"month", 'm'},
    };
    const char *s = skip_space(text);
    const char *rest;
    memset(out, 0, sizeof *out);

    const char *redundancy = word(s, "redundancy"), *recovery = word(s, "recovery");
    const char *days = number(s, &out->value);
    if (redundancy) {
        out->kind = BC_POLICY_REDUNDANCY;
        if (!isspace((unsigned char)*redundancy))
            goto bad;
        rest = number(skip_space(redundancy), &out->value);
        if (!rest)
            goto bad;
    } else if (recovery) {
        out->kind = BC_POLICY_RECOVERY_WINDOW;
        rest = spaced_word(spaced_word(recovery, "window"), "of");
        if (!rest || !isspace((unsigned char)*rest))
            goto bad;
        rest = number(skip_space(rest), &out->value);
        if (!rest)
            goto bad;
        const char *u = NULL;
        for (size_t i = 0; !u && i < sizeof units / sizeof units[0]; i++) {
            u = spaced_word(rest, units[i].name);
            if (u)
                out->unit = units[i].unit;
        }
        if (!u)
            goto bad;
        rest = (*u == 's' || *u == 'S') ? u + 1 : u;
    } else if (days && *days && strchr("dwmDWM", *days)) {
        rest = days;
        out->kind = BC_POLICY_RECOVERY_WINDOW;
        out->unit = (char)tolower((unsigned char)*rest++);
    } else {
        goto bad;
    }
    if (*skip_space(rest))
        goto bad;
    if (out->kind == BC_POLICY_REDUNDANCY && out->value == 0)
        return bc_error(BC_ERR_USAGE, "retention policy 'REDUNDANCY 0' would delete every "
                        "backup: give 1 or more");
    return BC_OK;
bad:
    return bc_error(BC_ERR_USAGE, "invalid retention policy '%s': %s (N up to %u)", text,
                    policy_help, MAX_POLICY_VALUE);
}

void bc_retention_policy_format(const bc_retention_policy *p, char *out, size_t outlen)
{
    if (p->kind == BC_POLICY_REDUNDANCY) {
        snprintf(out, outlen, "REDUNDANCY %u", p->value);
        return;
    }
    const char *unit = p->unit == 'w' ? "WEEKS" : p->unit == 'm' ? "MONTHS" : "DAYS";
    snprintf(out, outlen, "RECOVERY WINDOW OF %u %s", p->value, unit);
}

int64_t bc_retention_window_seconds(const bc_retention_policy *p)
{
    int64_t days = p->unit == 'w' ? 7 : p->unit == 'm' ? 31 : 1;
    return (int64_t)p->value * days * 86400;
}

bc_keep_target bc_keep_target_parse(const char *text, size_t len)
{
    if (len == 0)
        return BC_KEEP_NONE;
    return len == 10 && memcmp(text, "standalone", 10) == 0 ? BC_KEEP_STANDALONE : BC_KEEP_FULL;
}

const char *bc_keep_target_name(bc_keep_target t)
{
    return t == BC_KEEP_FULL ? "full" : t == BC_KEEP_STANDALONE ? "standalone" : "nokeep";
}

static bc_retention_verdict keep_verdict(bc_keep_target keep)
{
    return keep == BC_KEEP_STANDALONE ? BC_VERDICT_KEEP_STANDALONE
         : keep == BC_KEEP_FULL       ? BC_VERDICT_KEEP_FULL
                                      : BC_VERDICT_NONE;
}

static int is_done(const bc_retention_backup *b)
{
    return b->readable && !b->removed && b->status == BC_BACKUP_DONE;
}

size_t bc_retention_classify(const bc_retention_policy *p, time_t now,
                             bc_retention_backup *backups, size_t n)
{
    size_t obsolete = 0, counted = 0;
    int window_reached = 0;
    time_t point = now - (time_t)bc_retention_window_seconds(p);

    for (size_t i = n; i-- > 0;) {
        bc_retention_backup *b = &backups[i];
        b->verdict = BC_VERDICT_NONE;
        if (!is_done(b))
            continue;
        bc_retention_verdict kept = keep_verdict(b->keep);
        if (p->kind == BC_POLICY_REDUNDANCY) {
            /* Kept backups count towards the redundancy, as in barman. */
            b->verdict = kept ? kept : counted < p->value ? BC_VERDICT_VALID : BC_VERDICT_OBSOLETE;
            counted++;
        } else if (!window_reached) {
            b->verdict = kept ? kept : BC_VERDICT_VALID;
            /* The first backup that ended before the window's start is the
             * base every point of the window is recovered from. A DONE
             * backup without end time (barman would fail) never ends the
             * walk, so nothing older is deleted because of it. */
            if (b->has_end_time && b->end_time < point)
                window_reached = 1;
        } else {
            b->verdict = kept ? kept : BC_VERDICT_OBSOLETE;
        }
        if (b->verdict == BC_VERDICT_OBSOLETE)
            obsolete++;
    }
    int newer_done = 0;
    for (size_t i = n; i-- > 0;) {
        bc_retention_backup *b = &backups[i];
        if (is_done(b))
            newer_done = 1;
        else if (newer_done && b->readable && !b->removed && b->status == BC_BACKUP_STARTED &&
                 b->keep == BC_KEEP_NONE) {
            b->verdict = BC_VERDICT_ABANDONED;
            obsolete++;
        }
    }
    return obsolete;
}

static int copy_done(const bc_retention_backup *b)
{
    return b->readable && !b->removed &&
           (b->status == BC_BACKUP_DONE || b->status == BC_BACKUP_WAITING_FOR_WALS);
}

bc_status bc_retention_plan_wal(const bc_retention_backup *backups, size_t n, size_t deleted,
                                int for_policy, bc_retention_wal_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    const bc_retention_backup *del = &backups[deleted];
    if (!del->readable)
        return BC_OK; /* nothing known about the WAL it needed */
    if (n && (!(plan->timelines = calloc(n, sizeof *plan->timelines)) ||
              !(plan->ranges = calloc(n, sizeof *plan->ranges)))) {
        bc_retention_wal_plan_free(plan);
        return bc_oom();
    }

    /* Older backups: a plain or full-kept one needs every WAL from its
     * start on; standalone ones (for a policy) only their own range. */
    for (size_t i = deleted; i-- > 0;) {
        const bc_retention_backup *prev = &backups[i];
        if (!copy_done(prev))
            continue;
        if (prev->keep != BC_KEEP_STANDALONE || !for_policy || !prev->begin_wal[0] ||
            !prev->end_wal[0])
            return BC_OK;
        bc_wal_range *r = &plan->ranges[plan->nranges++];
        snprintf(r->begin, sizeof r->begin, "%s", prev->begin_wal);
        snprintf(r->end, sizeof r->end, "%s", prev->end_wal);
    }

    const bc_retention_backup *until = del;
    size_t until_idx = deleted;
    for (size_t i = deleted + 1; i < n; i++)
        if (copy_done(&backups[i])) {
            until = &backups[i];
            until_idx = i;
            break;
        }
    if (!until->begin_wal[0])
        return BC_OK;
    for (size_t i = 0; i < until_idx; i++)
        if (!backups[i].readable && !backups[i].removed) {
            plan->blocked_by = backups[i].id;
            return BC_OK;
        }

    for (size_t i = 0; i < n; i++) {
        const bc_retention_backup *b = &backups[i];
        if (i == deleted || b->removed || !b->readable || !b->timeline ||
            b->timeline == until->timeline)
            continue;
        size_t j = 0;
        while (j < plan->ntimelines && plan->timelines[j] != b->timeline)
            j++;
        if (j == plan->ntimelines)
            plan->timelines[plan->ntimelines++] = b->timeline;
    }
    snprintf(plan->before, sizeof plan->before, "%s", until->begin_wal);
    plan->remove = 1;
    return BC_OK;
}

void bc_retention_wal_plan_free(bc_retention_wal_plan *plan)
{
    free(plan->timelines);
    free(plan->ranges);
    memset(plan, 0, sizeof *plan);
}

int bc_retention_wal_removable(const bc_retention_wal_plan *plan, const char *name)
{
    uint32_t tli, log, seg;
    bc_wal_kind kind = bc_wal_classify(name);
    if (!plan->remove || kind == BC_WAL_INVALID || kind == BC_WAL_HISTORY ||
        bc_wal_parse(name, &tli, &log, &seg) != 0)
        return 0;
    for (size_t i = 0; i < plan->ntimelines; i++)
        if (plan->timelines[i] == tli)
            return 0;
    /* A backup label is judged by the segment it names. */
    char segment[25];
    snprintf(segment, sizeof segment, "%.24s", name);
    const char *ranged = kind == BC_WAL_BACKUP ? segment : name;
    for (size_t i = 0; i < plan->nranges; i++)
        if (strcmp(ranged, plan->ranges[i].begin) >= 0 && strcmp(ranged, plan->ranges[i].end) <= 0)
            return 0;
    return strcmp(name, plan->before) < 0;
}
