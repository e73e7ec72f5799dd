/* bc-doctor's checks: each has a name, a status, a detail and, when it
 * did not pass, a fix. Checks are added in dependency order; a check
 * whose prerequisite did not pass is recorded as skipped, naming it. The
 * report prints as text (one line per check, then a summary with the
 * failures first, each followed by its fix) or as JSON. */
#ifndef BC_DOCTOR_REPORT_H
#define BC_DOCTOR_REPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "util/status.h"

typedef enum bc_check_status {
    BC_CHECK_OK,
    BC_CHECK_WARN,
    BC_CHECK_FAIL,
    BC_CHECK_SKIP
} bc_check_status;

typedef struct bc_check {
    char *name;
    bc_check_status status;
    char *detail;
    char *fix;              /* NULL when there is nothing to do */
} bc_check;

typedef struct bc_doctor_report {
    const char *subject;    /* "store", "postgres", ... */
    bc_check *items;
    size_t n, cap;
    int oom;                /* a check could not be recorded */
} bc_doctor_report;

/* Records a check (fix may be NULL); detail is a printf format. */
void bc_doctor_add(bc_doctor_report *r, const char *name, bc_check_status status,
                   const char *fix, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void bc_doctor_vadd(bc_doctor_report *r, const char *name, bc_check_status status,
                    const char *fix, const char *fmt, va_list ap);

/* 1 when check `dep` was recorded and passed (ok or warn). Otherwise
 * records `name` as skipped because of dep, and returns 0. */
int bc_doctor_needs(bc_doctor_report *r, const char *name, const char *dep);

/* The status of a recorded check; BC_CHECK_SKIP when there is none. */
bc_check_status bc_doctor_status(const bc_doctor_report *r, const char *name);

size_t bc_doctor_count(const bc_doctor_report *r, bc_check_status status);

/* The report as the JSON document --format json prints; NULL when out of
 * memory. */
struct json_t;
struct json_t *bc_doctor_json(const bc_doctor_report *r);

/* Writes the report; BC_ERR_IO when out cannot be written. */
bc_status bc_doctor_print(const bc_doctor_report *r, int json, FILE *out);

/* A duration for people: "45s", "12m", "3h 12m", "2d 5h". */
void bc_doctor_age(long seconds, char *out, size_t len);

void bc_doctor_report_free(bc_doctor_report *r);

#endif
