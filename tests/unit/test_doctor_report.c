/* bc-doctor's report: dependencies skip what needs a failed check, the
 * counts, and both renderings (failures first with their fix in text; the
 * documented JSON shape). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "doctor/report.h"

static char *render(const bc_doctor_report *r, int json)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(f && bc_doctor_print(r, json, f) == BC_OK);
    fclose(f);
    return text;
}

int main(void)
{
    bc_doctor_report r = {.subject = "store"};
    bc_doctor_add(&r, "url", BC_CHECK_OK, "never shown", "s3://b/p");
    bc_doctor_add(&r, "tls", BC_CHECK_FAIL, "pass --ca-bundle", "self-signed %s", "certificate");
    CHECK(!bc_doctor_needs(&r, "authentication", "tls"));
    CHECK(!bc_doctor_needs(&r, "bucket", "authentication"));
    bc_doctor_add(&r, "clock", BC_CHECK_WARN, "use NTP", "70s ahead");
    CHECK(bc_doctor_needs(&r, "wal", "clock"));
    CHECK(!bc_doctor_needs(&r, "other", "never-recorded"));
    CHECK(bc_doctor_status(&r, "authentication") == BC_CHECK_SKIP);
    CHECK(bc_doctor_count(&r, BC_CHECK_FAIL) == 1 && bc_doctor_count(&r, BC_CHECK_WARN) == 1);
    CHECK(bc_doctor_count(&r, BC_CHECK_SKIP) == 3 && r.n == 6);

    char *text = render(&r, 0);
    CHECK(strstr(text, "ok      url: s3://b/p\n") != NULL);
    CHECK(strstr(text, "skipped authentication: skipped because tls failed\n") != NULL);
    CHECK(strstr(text, "skipped bucket: skipped because authentication was skipped\n") != NULL);
    CHECK(strstr(text, "6 checks: 1 failed, 1 warnings, 3 skipped\n") != NULL);
    char *failed = strstr(text, "FAILED tls: self-signed certificate\n  fix: pass --ca-bundle\n");
    char *warned = strstr(text, "WARNING clock: 70s ahead\n  fix: use NTP\n");
    CHECK(failed && warned && failed < warned);
    CHECK(strstr(text, "never shown") == NULL);
    free(text);

    text = render(&r, 1);
    json_t *doc = json_loads(text, 0, NULL);
    CHECK(doc != NULL);
    CHECK(strcmp(json_string_value(json_object_get(doc, "subject")), "store") == 0);
    CHECK(json_integer_value(json_object_get(doc, "failed")) == 1);
    CHECK(json_integer_value(json_object_get(doc, "warnings")) == 1);
    json_t *checks = json_object_get(doc, "checks");
    CHECK(json_array_size(checks) == 6);
    json_t *tls = json_array_get(checks, 1);
    CHECK(strcmp(json_string_value(json_object_get(tls, "status")), "fail") == 0);
    CHECK(strcmp(json_string_value(json_object_get(tls, "fix")), "pass --ca-bundle") == 0);
    CHECK(json_is_null(json_object_get(json_array_get(checks, 0), "fix")));
    CHECK(strcmp(json_string_value(json_object_get(json_array_get(checks, 2), "status")),
                 "skipped") == 0);
    json_decref(doc);
    free(text);
    bc_doctor_report_free(&r);
    return check_report("doctor_report");
}
