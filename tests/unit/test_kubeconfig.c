/* Finding the cluster: kubeconfig parsing (current-context, token versus
 * tokenFile, CA data versus file, client certificates, the namespace, and
 * malformed files as usage errors naming the file), the in-cluster
 * service account, the search order, and base64. No network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "kube/kube.h"
#include "kube/kube_internal.h"

static char dir[] = "/tmp/bc-kubeconfig-test.XXXXXX";

static void put(const char *name, const char *content)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(content, f);
        fclose(f);
    }
}

static int same(const char *got, const char *want)
{
    return got && want && strcmp(got, want) == 0;
}

/* "Q0EtUEVN" is "CA-PEM", "Q0VSVA==" "CERT", "S0VZ" "KEY". */
#define CLUSTERS                                                   \
    "clusters:\n"                                                  \
    "- name: one\n"                                                \
    "  cluster:\n"                                                 \
    "    server: https://one.example:6443/\n"                      \
    "    certificate-authority-data: Q0EtUEVN\n"                   \
    "- name: two\n"                                                \
    "  cluster: {server: 'http://127.0.0.1:8001/prefix',\n"        \
    "            certificate-authority: ca/two.crt}\n"

static const char two_contexts[] =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: second\n"
    CLUSTERS
    "contexts:\n"
    "- name: first\n"
    "  context: {cluster: one, user: alice, namespace: ns-one}\n"
    "- name: second\n"
    "  context:\n"
    "    cluster: two\n"
    "    user: bob\n"
    "users:\n"
    "- name: alice\n"
    "  user:\n"
    "    token: alice-token\n"
    "- name: bob\n"
    "  user:\n"
    "    tokenFile: bob.token\n";

static bc_status parse(const char *text, bc_kube_config *c)
{
    char path[256];
    snprintf(path, sizeof path, "%s/config", dir);
    return bc_kube_config_parse(text, strlen(text), path, c);
}

/* The text with every "from" replaced by "to", in one of two static
 * buffers taken in turn, so edit(edit(...)) works. */
static const char *edit(const char *text, const char *from, const char *to)
{
    static char bufs[2][4096];
    static int turn;
    char *out = bufs[turn ^= 1];
    size_t n = 0;
    const char *hit;
    while ((hit = strstr(text, from)) != NULL && *from) {
        n += (size_t)snprintf(out + n, sizeof bufs[0] - n, "%.*s%s", (int)(hit - text), text, to);
        text = hit + strlen(from);
        if (n >= sizeof bufs[0])
            abort();
    }
    snprintf(out + n, sizeof bufs[0] - n, "%s", text);
    return out;
}

static void test_contexts(void)
{
    bc_kube_config c;
    char want[300];

    /* The second context: CA from a file relative to the kubeconfig,
     * tokenFile likewise, no namespace. */
    CHECK(parse(two_contexts, &c) == BC_OK);
    CHECK(same(c.server, "http://127.0.0.1:8001/prefix"));
    CHECK(same(c.ca_pem, "two's CA\n"));
    CHECK(c.token == NULL);
    snprintf(want, sizeof want, "%s/bob.token", dir);
    CHECK(same(c.token_file, want));
    CHECK(c.ns == NULL);
    CHECK(c.insecure == 0 && c.cert_pem == NULL && c.key_pem == NULL);
    snprintf(want, sizeof want, "%s/config", dir);
    CHECK(same(c.source, want));
    bc_kube_config_free(&c);

    /* The first: CA data, inline token, a namespace, '/' dropped. */
    CHECK(parse(edit(two_contexts, "current-context: second", "current-context: first"), &c) == BC_OK);
    CHECK(same(c.server, "https://one.example:6443"));
    CHECK(same(c.ca_pem, "CA-PEM"));
    CHECK(same(c.token, "alice-token"));
    CHECK(c.token_file == NULL);
    CHECK(same(c.ns, "ns-one"));
    bc_kube_config_free(&c);

    /* An inline token wins over tokenFile, CA data over a CA file. */
    CHECK(parse(edit(edit(two_contexts, "    tokenFile: bob.token\n",
                          "    tokenFile: bob.token\n    token: bob-inline\n"),
                     "certificate-authority: ca/two.crt",
                     "certificate-authority: ca/two.crt, certificate-authority-data: Q0EtUEVN"),
              &c) == BC_OK);
    CHECK(same(c.token, "bob-inline"));
    CHECK(c.token_file == NULL);
    CHECK(same(c.ca_pem, "CA-PEM"));
    bc_kube_config_free(&c);

    /* A context without a user: no credentials at all. */
    CHECK(parse(edit(two_contexts, "    user: bob\n", ""), &c) == BC_OK);
    CHECK(c.token == NULL && c.token_file == NULL && c.cert_pem == NULL);
    bc_kube_config_free(&c);
}

static void test_tls(void)
{
    bc_kube_config c;
    static const char certs[] =
        "current-context: x\n"
        "clusters:\n"
        "- name: c\n"
        "  cluster:\n"
        "    server: https://k:443\n"
        "    insecure-skip-tls-verify: true\n"
        "contexts:\n"
        "- name: x\n"
        "  context: {cluster: c, user: u, namespace: \"quoted\"}\n"
        "users:\n"
        "- name: u\n"
        "  user:\n"
        "    client-certificate-data: |\n"
        "      Q0VS\n"
        "      VA==\n"
        "    client-key: /KEYFILE\n";
    char key_path[256], text[1024];
    snprintf(key_path, sizeof key_path, "%s/client.key", dir);
    snprintf(text, sizeof text, "%s", edit(certs, "/KEYFILE", key_path));
    CHECK(parse(text, &c) == BC_OK);
    CHECK(c.insecure == 1);
    CHECK(c.ca_pem == NULL);
    CHECK(same(c.cert_pem, "CERT"));    /* folded base64 decodes too */
    CHECK(same(c.key_pem, "KEY\n"));
    CHECK(same(c.ns, "quoted"));
    bc_kube_config_free(&c);

    CHECK(parse(edit(text, "insecure-skip-tls-verify: true", "insecure-skip-tls-verify: false"),
                &c) == BC_OK);
    CHECK(c.insecure == 0);
    bc_kube_config_free(&c);
}

/* A usage error whose message names the file and says `what`. */
static void check_bad(const char *text, const char *what)
{
    bc_kube_config c;
    bc_status st = parse(text, &c);
    CHECK(st == BC_ERR_USAGE);
    if (st != BC_ERR_USAGE || !strstr(bc_error_msg(), dir) || !strstr(bc_error_msg(), what))
        printf("  for \"%s\" got %s: %s\n", what, bc_status_name(st), bc_error_msg());
    CHECK(c.server == NULL && c.token == NULL && c.source == NULL);
}

static void test_malformed(void)
{
    check_bad("current-context: [unclosed\n", "line ");
    check_bad("", "no mapping at the top");
    check_bad("- a\n- b\n", "no mapping at the top");
    check_bad(edit(two_contexts, "current-context: second\n", ""), "no current-context");
    check_bad(edit(two_contexts, "current-context: second", "current-context: third"),
              "current-context \"third\" is not among its contexts");
    check_bad(edit(two_contexts, "cluster: two", "cluster: three"),
              "cluster \"three\", which is not defined");
    check_bad(edit(two_contexts, "user: bob", "user: carol"), "user \"carol\", which is not defined");
    check_bad(edit(two_contexts, "    tokenFile: bob.token\n", "    exec: {command: aws}\n"),
              "authenticates with exec");
    check_bad(edit(two_contexts, "    tokenFile: bob.token\n", "    tokenFile: missing.token\n"),
              "cannot read tokenFile");
    check_bad(edit(two_contexts, "ca/two.crt", "ca/missing.crt"), "cannot read certificate-authority");
    check_bad(edit(two_contexts, "'http://127.0.0.1:8001/prefix'", "127.0.0.1:8001"),
              "is not an http(s):// URL");
    /* Found by fuzz_kubeconfig: the trailing '/' trimming left "http:". */
    check_bad(edit(two_contexts, "'http://127.0.0.1:8001/prefix'", "'http://'"),
              "server http:// names no host");
    check_bad(edit(two_contexts, "'http://127.0.0.1:8001/prefix'", "'https:///prefix'"),
              "names no host");
    check_bad(edit(two_contexts, "{server: 'http://127.0.0.1:8001/prefix',",
                   "{insecure-skip-tls-verify: true,"), "cluster \"two\" has no server");
    check_bad(edit(two_contexts, "certificate-authority: ca/two.crt",
                   "certificate-authority: ca/two.crt, insecure-skip-tls-verify: true"),
              "exclude each other");
    check_bad(edit(two_contexts, "certificate-authority: ca/two.crt",
                   "certificate-authority: ca/two.crt, insecure-skip-tls-verify: maybe"),
              "not true or false");
    check_bad(edit(edit(two_contexts, "current-context: second", "current-context: first"),
                   "Q0EtUEVN", "Q0EtUE!N"), "certificate-authority-data is not base64");
    check_bad(edit(two_contexts, "    tokenFile: bob.token\n", "    client-certificate-data: Q0VSVA==\n"),
              "without its key");
    check_bad(edit(two_contexts, "    tokenFile: bob.token\n", "    token: [a, b]\n"),
              "token is not a string");
}

static void test_in_cluster(void)
{
    char sa[256];
    bc_kube_config c;
    snprintf(sa, sizeof sa, "%s/sa", dir);
    mkdir(sa, 0700);
    CHECK(bc_kube_config_in_cluster("10.0.0.1", "443", sa, &c) == BC_ERR_NOTFOUND);
    put("sa/token", "sa-token\n");
    put("sa/ca.crt", "cluster CA\n");
    CHECK(bc_kube_config_in_cluster("10.0.0.1", "443", sa, &c) == BC_OK);
    CHECK(same(c.server, "https://10.0.0.1:443"));
    CHECK(same(c.ca_pem, "cluster CA\n"));
    CHECK(c.ns == NULL);
    CHECK(c.token == NULL && c.token_file && strstr(c.token_file, "/sa/token"));
    bc_kube_config_free(&c);
    put("sa/namespace", "team-a\n");
    CHECK(bc_kube_config_in_cluster("fd00::1", "6443", sa, &c) == BC_OK);
    CHECK(same(c.server, "https://[fd00::1]:6443"));
    CHECK(same(c.ns, "team-a"));
    bc_kube_config_free(&c);

    /* The search order: KUBECONFIG (its first file), then in-cluster, then
     * ~/.kube/config. */
    char list[600];
    snprintf(list, sizeof list, ":%s/config:/nonexistent", dir);
    setenv("KUBECONFIG", list, 1);
    setenv("KUBERNETES_SERVICE_HOST", "10.0.0.9", 1);
    setenv("KUBERNETES_SERVICE_PORT", "8443", 1);
    setenv("BC_KUBE_SA_DIR", sa, 1);
    setenv("HOME", dir, 1);
    CHECK(bc_kube_config_find(&c) == BC_OK);
    CHECK(same(c.server, "http://127.0.0.1:8001/prefix"));
    bc_kube_config_free(&c);
    unsetenv("KUBECONFIG");
    CHECK(bc_kube_config_find(&c) == BC_OK);
    CHECK(same(c.server, "https://10.0.0.9:8443"));
    bc_kube_config_free(&c);

    /* A client from it: made without talking to anyone. */
    bc_kube *k = NULL;
    char *value = NULL;
    CHECK(bc_kube_new(&k) == BC_OK);
    CHECK(k && same(bc_kube_namespace(k), "team-a"));
    if (k) {
        CHECK(bc_kube_secret_value(k, NULL, "../x", "key", &value, NULL) == BC_ERR_USAGE);
        CHECK(bc_kube_secret_value(k, "Upper", "x", "key", &value, NULL) == BC_ERR_USAGE);
        CHECK(bc_kube_get(k, "no-slash", &(json_t *){ NULL }) == BC_ERR_USAGE);
        CHECK(value == NULL);
    }
    bc_kube_free(k);

    unsetenv("KUBERNETES_SERVICE_HOST");
    CHECK(bc_kube_config_find(&c) == BC_ERR_USAGE);
    CHECK(strstr(bc_error_msg(), "no Kubernetes configuration") != NULL);
    char home_config[300];
    snprintf(home_config, sizeof home_config, "%s/.kube", dir);
    mkdir(home_config, 0700);
    put(".kube/config", edit(two_contexts, "current-context: second", "current-context: first"));
    CHECK(bc_kube_config_find(&c) == BC_OK);
    CHECK(same(c.server, "https://one.example:6443") && strstr(c.source, "/.kube/config"));
    bc_kube_config_free(&c);
}

/* bc_kube_new with a kubeconfig whose cluster has this server URL. */
static bc_status client_for(const char *server)
{
    char text[1024], path[300];
    snprintf(text, sizeof text,
             "current-context: c\nclusters:\n- name: c\n  cluster: {server: '%s'}\n"
             "contexts:\n- name: c\n  context: {cluster: c, user: u}\n"
             "users:\n- name: u\n  user: {token: t}\n", server);
    put("urls", text);
    snprintf(path, sizeof path, "%s/urls", dir);
    setenv("KUBECONFIG", path, 1);
    bc_kube *k = NULL;
    bc_status st = bc_kube_new(&k);
    bc_kube_free(k);
    unsetenv("KUBECONFIG");
    return st;
}

static void test_server_urls(void)
{
    static const char *const good[] = {
        "https://kube.example", "https://kube.example:6443", "https://10.0.0.1:443/",
        "https://[fd00::1]:6443", "https://[fd00::1]", "http://127.0.0.1:8001/k8s/clusters/c-1/",
    };
    static const char *const bad[] = {
        "https://:6443", "https://kube.example:", "https://kube.example:64x3",
        "https://[fd00::1", "https://[fd00::1]6443", "https://kube.example:123456789",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(client_for(good[i]) == BC_OK);
    CHECK(client_for("https://") == BC_ERR_USAGE); /* no host at all: the parser says so */
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        bc_status st = client_for(bad[i]);
        CHECK(st == BC_ERR_USAGE && strstr(bc_error_msg(), "cannot read host and port"));
        if (st != BC_ERR_USAGE || !strstr(bc_error_msg(), "cannot read host and port"))
            printf("  %s: %s %s\n", bad[i], bc_status_name(st), bc_error_msg());
    }
}

static void test_base64(void)
{
    char *out = NULL;
    size_t len = 0;
    CHECK(bc_base64_decode("aGVsbG8=", 8, &out, &len) == 0 && len == 5 && same(out, "hello"));
    free(out);
    CHECK(bc_base64_decode("aGVs\nbG8h", 9, &out, &len) == 0 && len == 6 && same(out, "hello!"));
    free(out);
    CHECK(bc_base64_decode("", 0, &out, &len) == 0 && len == 0 && same(out, ""));
    free(out);
    CHECK(bc_base64_decode("AAE=", 4, &out, &len) == 0 && len == 2 && out[0] == 0 && out[1] == 1);
    free(out);
    out = NULL;
    CHECK(bc_base64_decode("aGVsbG8", 7, &out, &len) < 0 && out == NULL);
    CHECK(bc_base64_decode("aGV*bG8=", 8, &out, &len) < 0);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char sub[300];
    snprintf(sub, sizeof sub, "%s/ca", dir);
    mkdir(sub, 0700);
    put("ca/two.crt", "two's CA\n");
    put("bob.token", "bob-token\n");
    put("client.key", "KEY\n");
    put("config", two_contexts);

    test_contexts();
    test_tls();
    test_malformed();
    test_in_cluster();
    test_server_urls();
    test_base64();

    check_remove_tree(dir);
    return check_report("kubeconfig");
}
