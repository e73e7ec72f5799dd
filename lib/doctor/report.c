#include "doctor/report.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = { "ok", "warn", "fail", "skipped" };

void bc_doctor_vadd(bc_doctor_report *r, const char *name, bc_check_status status,
                    const char *fix, const char *fmt, va_list ap)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        bc_check *grown = realloc(r->items, cap * sizeof *grown);
        if (!grown) {
            r->oom = 1;
            return;
        }
        r->items = grown;
        r->cap = cap;
    }
    char detail[2048];
    vsnprintf(detail, sizeof detail, fmt, ap);
    bc_check *c = &r->items[r->n];
    c->name = strdup(name);
    c->detail = strdup(detail);
    c->fix = fix && status != BC_CHECK_OK ? strdup(fix) : NULL;
    c->status = status;
    if (!c->name || !c->detail || (fix && status != BC_CHECK_OK && !c->fix)) {
        free(c->name);
        free(c->detail);
        free(c->fix);
        r->oom = 1;
        return;
    }
    r->n++;
}

void bc_doctor_add(bc_doctor_report *r, const char *name, bc_check_status status,
                   const char *fix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bc_doctor_vadd(r, name, status, fix, fmt, ap);
    va_end(ap);
}

static const bc_check *find(const bc_doctor_report *r, const char *name)
{
    for (size_t i = r->n; i-- > 0;)
        if (strcmp(r->items[i].name, name) == 0)
            return &r->items[i];
    return NULL;
}

bc_check_status bc_doctor_status(const bc_doctor_report *r, const char *name)
{
    const bc_check *c = find(r, name);
    return c ? c->status : BC_CHECK_SKIP;
}

int bc_doctor_needs(bc_doctor_report *r, const char *name, const char *dep)
{
    bc_check_status s = bc_doctor_status(r, dep);
    if (s == BC_CHECK_OK || s == BC_CHECK_WARN)
        return 1;
    bc_doctor_add(r, name, BC_CHECK_SKIP, NULL, "skipped because %s %s", dep,
                  s == BC_CHECK_FAIL ? "failed" : "was skipped");
    return 0;
}

size_t bc_doctor_count(const bc_doctor_report *r, bc_check_status status)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->items[i].status == status;
    return n;
}

json_t *bc_doctor_json(const bc_doctor_report *r)
{
    json_t *doc = json_object(), *checks = json_array();
    int bad = !doc || !checks;
    for (size_t i = 0; !bad && i < r->n; i++) {
        const bc_check *c = &r->items[i];
        json_t *o = json_pack("{s:s, s:s, s:s, s:s?}", "name", c->name, "status",
                              status_names[c->status], "detail", c->detail, "fix", c->fix);
        bad = !o || json_array_append_new(checks, o) != 0;
    }
    if (!bad)
        bad = json_object_set_new(doc, "subject", json_string(r->subject)) ||
              json_object_set(doc, "checks", checks) ||
              json_object_set_new(doc, "failed",
                                  json_integer((json_int_t)bc_doctor_count(r, BC_CHECK_FAIL))) ||
              json_object_set_new(doc, "warnings",
                                  json_integer((json_int_t)bc_doctor_count(r, BC_CHECK_WARN)));
    json_decref(checks);
    if (bad) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static bc_status print_json(const bc_doctor_report *r, FILE *out)
{
    json_t *doc = bc_doctor_json(r);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    json_decref(doc);
    if (!text)
        return bc_oom();
    int rc = fprintf(out, "%s\n", text);
    free(text);
    return rc < 0 ? bc_error(BC_ERR_IO, "cannot write the report") : BC_OK;
}

bc_status bc_doctor_print(const bc_doctor_report *r, int json, FILE *out)
{
    if (r->oom)
        return bc_oom();
    if (json)
        return print_json(r, out);
    for (size_t i = 0; i < r->n; i++)
        fprintf(out, "%-7s %s: %s\n", status_names[r->items[i].status], r->items[i].name,
                r->items[i].detail);
    size_t failed = bc_doctor_count(r, BC_CHECK_FAIL), warned = bc_doctor_count(r, BC_CHECK_WARN);
    fprintf(out, "\n%zu checks: %zu failed, %zu warnings, %zu skipped\n", r->n, failed, warned,
            bc_doctor_count(r, BC_CHECK_SKIP));
    /* Failures first, then warnings, each with what to do. */
    for (int pass = 0; pass < 2; pass++) {
        bc_check_status want = pass == 0 ? BC_CHECK_FAIL : BC_CHECK_WARN;
        for (size_t i = 0; i < r->n; i++) {
            const bc_check *c = &r->items[i];
            if (c->status != want)
                continue;
            fprintf(out, "%s %s: %s\n", pass == 0 ? "FAILED" : "WARNING", c->name, c->detail);
            if (c->fix)
                fprintf(out, "  fix: %s\n", c->fix);
        }
    }
    return fflush(out) == 0 && !ferror(out) ? BC_OK
                                             : bc_error(BC_ERR_IO, "cannot write the report");
}

void bc_doctor_age(long s, char *out, size_t len)
{
    if (s < 0)
        s = 0;
    if (s < 120)
        snprintf(out, len, "%lds", s);
    else if (s < 7200)
        snprintf(out, len, "%ldm", s / 60);
    else if (s < 172800)
        snprintf(out, len, "%ldh %ldm", s / 3600, s / 60 % 60);
    else
        snprintf(out, len, "%ldd %ldh", s / 86400, s / 3600 % 24);
}

void bc_doctor_report_free(bc_doctor_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->items[i].name);
        free(r->items[i].detail);
        free(r->items[i].fix);
    }
    free(r->items);
    memset(r, 0, sizeof *r);
}
