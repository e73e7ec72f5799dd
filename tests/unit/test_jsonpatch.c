/* lib/util/jsonpatch.c: the RFC 6902 patch between two documents, and
 * lib/plugin/rbac.c's rules, both pure functions. Applying the patches is
 * the bats suite's job (python3-jsonpatch, an independent implementation);
 * here: the operations chosen, pointer escaping, and determinism. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/rbac.h"
#include "util/jsonpatch.h"

#include "check.h"

/* The patch from a to b (JSON texts), compact, malloc'd. */
static char *diff(const char *a, const char *b)
{
    json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL), *p = json_array();
    bc_status st = bc_json_patch_diff(ja, jb, p);
    char *out = st == BC_OK ? json_dumps(p, JSON_COMPACT) : strdup("error");
    json_decref(ja);
    json_decref(jb);
    json_decref(p);
    return out;
}

static int same(char *got, const char *want)
{
    int ok = strcmp(got, want) == 0;
    if (!ok)
        printf("  got  %s\n  want %s\n", got, want);
    free(got);
    return ok;
}

int main(void)
{
    CHECK(same(diff("{\"a\":1}", "{\"a\":1}"), "[]"));
    CHECK(same(diff("{\"a\":1}", "{\"a\":2}"), "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":2}]"));
    CHECK(same(diff("{\"a\":1,\"b\":2}", "{\"a\":1}"), "[{\"op\":\"remove\",\"path\":\"/b\"}]"));
    CHECK(same(diff("{}", "{\"x\":{\"y\":[1]}}"),
               "[{\"op\":\"add\",\"path\":\"/x\",\"value\":{\"y\":[1]}}]"));
    /* keys with '/' and '~' (labels such as cnpg.io/jobRole) */
    CHECK(same(diff("{\"l\":{}}", "{\"l\":{\"cnpg.io/a~b\":\"v\"}}"),
               "[{\"op\":\"add\",\"path\":\"/l/cnpg.io~1a~0b\",\"value\":\"v\"}]"));
    /* an array that only grew: adds at the new indexes */
    CHECK(same(diff("{\"c\":[1,2]}", "{\"c\":[1,2,3,4]}"),
               "[{\"op\":\"add\",\"path\":\"/c/2\",\"value\":3},"
               "{\"op\":\"add\",\"path\":\"/c/3\",\"value\":4}]"));
    /* same length: element by element */
    CHECK(same(diff("{\"c\":[{\"n\":1},{\"n\":2}]}", "{\"c\":[{\"n\":1},{\"n\":3}]}"),
               "[{\"op\":\"replace\",\"path\":\"/c/1/n\",\"value\":3}]"));
    /* anything else: the array whole */
    CHECK(same(diff("{\"c\":[1,2,3]}", "{\"c\":[1,3]}"),
               "[{\"op\":\"replace\",\"path\":\"/c\",\"value\":[1,3]}]"));
    CHECK(same(diff("{\"c\":[1]}", "{\"c\":{\"k\":1}}"),
               "[{\"op\":\"replace\",\"path\":\"/c\",\"value\":{\"k\":1}}]"));
    CHECK(same(diff("[1]", "{}"), "[{\"op\":\"replace\",\"path\":\"\",\"value\":{}}]"));
    /* determinism: the same inputs, the same bytes */
    char *one = diff("{\"s\":{\"b\":1,\"a\":[0]}}", "{\"s\":{\"a\":[0,1],\"b\":2,\"c\":3}}");
    char *two = diff("{\"s\":{\"b\":1,\"a\":[0]}}", "{\"s\":{\"a\":[0,1],\"b\":2,\"c\":3}}");
    CHECK(strcmp(one, two) == 0);
    free(one);
    free(two);

    /* Role rules: names sorted and once; no rule with an empty name list */
    json_t *stores = json_loads(
        "[{\"metadata\":{\"name\":\"b\"},\"spec\":{\"configuration\":{\"s3Credentials\":"
        "{\"accessKeyId\":{\"name\":\"s2\",\"key\":\"k\"},\"secretAccessKey\":{\"name\":\"s1\",\"key\":\"k\"}},"
        "\"endpointCA\":{\"name\":\"ca\",\"key\":\"c\"}}}},"
        " {\"metadata\":{\"name\":\"a\"},\"spec\":{\"configuration\":{\"azureCredentials\":"
        "{\"inheritFromAzureAD\":true,\"storageKey\":{\"name\":\"az\",\"key\":\"k\"}}}}},"
        " {\"metadata\":{\"name\":\"b\"},\"spec\":{\"configuration\":{\"googleCredentials\":"
        "{\"applicationCredentials\":{\"name\":\"s1\",\"key\":\"j\"}}}}}]", 0, NULL);
    json_t *rules = bc_rbac_role_rules(stores);
    char *text = json_dumps(rules, JSON_COMPACT);
    CHECK(same(text,
               "[{\"apiGroups\":[\"barmancloud.cnpg.io\"],\"verbs\":[\"get\",\"watch\",\"list\"],"
               "\"resources\":[\"objectstores\"],\"resourceNames\":[\"a\",\"b\"]},"
               "{\"apiGroups\":[\"barmancloud.cnpg.io\"],\"verbs\":[\"update\"],"
               "\"resources\":[\"objectstores/status\"],\"resourceNames\":[\"a\",\"b\"]},"
               "{\"apiGroups\":[\"\"],\"resources\":[\"secrets\"],\"verbs\":[\"get\",\"watch\",\"list\"],"
               "\"resourceNames\":[\"s1\",\"s2\"]}]"));
    json_t *role = json_pack("{s:O}", "rules", rules);
    json_t *names = bc_rbac_role_store_names(role);
    CHECK(json_array_size(names) == 2);
    json_decref(names);
    json_decref(role);
    json_decref(rules);
    json_decref(stores);
    /* workload identity only: no Secrets rule at all (upstream would grant every Secret) */
    stores = json_loads("[{\"metadata\":{\"name\":\"iam\"},\"spec\":{\"configuration\":"
                        "{\"s3Credentials\":{\"inheritFromIAMRole\":true}}}}]", 0, NULL);
    rules = bc_rbac_role_rules(stores);
    CHECK(json_array_size(rules) == 2);
    json_decref(rules);
    json_decref(stores);
    rules = bc_rbac_role_rules(NULL);
    CHECK(json_array_size(rules) == 0);
    json_decref(rules);

    return check_report("test_jsonpatch");
}
