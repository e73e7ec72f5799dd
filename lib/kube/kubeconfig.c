/* Finding the cluster: a kubeconfig's current-context (read with libyaml)
 * or the pod's service account. */
#include "kube/kube_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "util/fileio.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define FILE_LIMIT ((size_t)1 << 20)

void bc_kube_config_free(bc_kube_config *c)
{
    free(c->source);
    free(c->server);
    free(c->ca_pem);
    bc_kube_forget(c->token);
    free(c->token_file);
    free(c->cert_pem);
    bc_kube_forget(c->key_pem);
    free(c->ns);
    memset(c, 0, sizeof *c);
}



/* ---- kubeconfig ------------------------------------------------------- */

typedef struct kubeconfig {
    yaml_document_t doc;
    const char *path;
} kubeconfig;

static bc_status bad(const kubeconfig *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* BC_ERR_USAGE: "kubeconfig PATH: what is wrong". */
static bc_status bad(const kubeconfig *c, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return bc_error(BC_ERR_USAGE, "kubeconfig %s: %s", c->path, what);
}

/* The value under key in a mapping; NULL if absent or map is no mapping. */
static yaml_node_t *get(kubeconfig *c, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    size_t klen = strlen(key);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&c->doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == klen &&
            memcmp(k->data.scalar.value, key, klen) == 0)
            return yaml_document_get_node(&c->doc, p->value);
    }
    return NULL;
}

static int is_plain(const yaml_node_t *n, const char *const *words)
{
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    for (; *words; words++)
        if (strcmp((const char *)n->data.scalar.value, *words) == 0)
            return 1;
    return 0;
}

static const char *const null_words[] = { "", "~", "null", "Null", "NULL", NULL };

/* The string under key: *out NULL when absent or null, an error when it
 * is a list or a mapping. where says whose key it is ("user \"u\""). */
static bc_status str(kubeconfig *c, yaml_node_t *map, const char *key, const char *where,
                     const char **out)
{
    yaml_node_t *n = get(c, map, key);
    *out = NULL;
    if (!n)
        return BC_OK;
    if (n->type != YAML_SCALAR_NODE)
        return bad(c, "%s: %s is not a string", where, key);
    if (!is_plain(n, null_words))
        *out = (const char *)n->data.scalar.value;
    return BC_OK;
}

/* The entry of the list root[list] whose name is name, or NULL. */
static yaml_node_t *named(kubeconfig *c, const char *list, const char *name)
{
    yaml_node_t *seq = get(c, yaml_document_get_root_node(&c->doc), list);
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return NULL;
    for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top; i++) {
        yaml_node_t *e = yaml_document_get_node(&c->doc, *i);
        yaml_node_t *n = get(c, e, "name");
        if (n && n->type == YAML_SCALAR_NODE && strcmp((const char *)n->data.scalar.value, name) == 0)
            return e;
    }
    return NULL;
}

static bc_status copy(const char *s, char **out)
{
    *out = NULL;
    if (s && !(*out = strdup(s)))
        return bc_oom();
    return BC_OK;
}

/* A file name from the kubeconfig: relative ones start at its directory. */
static bc_status resolve(const kubeconfig *c, const char *file, char **out)
{
    const char *slash = strrchr(c->path, '/');
    int n = file[0] == '/' || !slash ? asprintf(out, "%s", file)
          : asprintf(out, "%.*s/%s", (int)(slash - c->path), c->path, file);
    if (n < 0) {
        *out = NULL;
        return bc_oom();
    }
    return BC_OK;
}

/* PEM text from KEY-data (base64, preferred) or from the file KEY names;
 * *out NULL when neither is there. */
static bc_status pem(kubeconfig *c, yaml_node_t *map, const char *key, const char *where,
                     char **out)
{
    char data_key[64];
    const char *data, *file;
    bc_status st;
    *out = NULL;
    snprintf(data_key, sizeof data_key, "%s-data", key);
    st = str(c, map, data_key, where, &data);
    if (st == BC_OK)
        st = str(c, map, key, where, &file);
    if (st != BC_OK)
        return st;
    if (data) {
        if (bc_base64_decode(data, strlen(data), out, NULL) < 0)
            return bad(c, "%s: %s is not base64", where, data_key);
        return BC_OK;
    }
    if (!file)
        return BC_OK;
    char *path;
    st = resolve(c, file, &path);
    if (st != BC_OK)
        return st;
    if (bc_read_file(path, FILE_LIMIT, out, NULL) < 0)
        st = bad(c, "%s: cannot read %s %s: %s", where, key, path, strerror(errno));
    free(path);
    return st;
}

/* The cluster or user (kind) the current context names: the mapping under
 * "kind" in the entry of that name in the list of "kinds". where becomes
 * "kind \"name\"", for messages. */
static bc_status lookup(kubeconfig *c, const char *kind, const char *name, char *where,
                        size_t wlen, yaml_node_t **out)
{
    char list[32];
    snprintf(list, sizeof list, "%ss", kind);
    snprintf(where, wlen, "%s \"%s\"", kind, name);
    yaml_node_t *entry = named(c, list, name);
    if (!entry)
        return bad(c, "the current context names %s, which is not defined", where);
    *out = get(c, entry, kind);
    return BC_OK;
}

static bc_status read_cluster(kubeconfig *c, const char *name, bc_kube_config *out)
{
    char where[300];
    const char *server, *insecure;
    yaml_node_t *cl;
    bc_status st;
    st = lookup(c, "cluster", name, where, sizeof where, &cl);
    if (st == BC_OK)
        st = str(c, cl, "server", where, &server);
    if (st == BC_OK)
        st = str(c, cl, "insecure-skip-tls-verify", where, &insecure);
    if (st != BC_OK)
        return st;
    if (!server)
        return bad(c, "%s has no server", where);
    size_t scheme = strncmp(server, "https://", 8) == 0 ? 8
                  : strncmp(server, "http://", 7) == 0 ? 7 : 0;
    if (!scheme)
        return bad(c, "%s: server %s is not an http(s):// URL", where, server);
    /* Else "https://" would lose its slashes below and become "https:". */
    if (!server[scheme] || server[scheme] == '/')
        return bad(c, "%s: server %s names no host", where, server);
    st = copy(server, &out->server);
    if (st != BC_OK)
        return st;
    size_t n = strlen(out->server);
    while (n > 0 && out->server[n - 1] == '/')
        out->server[--n] = '\0';

    /* YAML 1.1 booleans, as kubectl's parser takes them. */
    static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES",
                                       "on", "On", "ON", NULL };
    static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO",
                                      "off", "Off", "OFF", NULL };
    yaml_node_t *flag = get(c, cl, "insecure-skip-tls-verify");
    if (insecure && is_plain(flag, yes))
        out->insecure = 1;
    else if (insecure && !is_plain(flag, no))
        return bad(c, "%s: insecure-skip-tls-verify is \"%s\", not true or false", where, insecure);

    st = pem(c, cl, "certificate-authority", where, &out->ca_pem);
    if (st != BC_OK)
        return st;
    /* As kubectl: a CA and not checking against it contradict each other. */
    if (out->insecure && out->ca_pem)
        return bad(c, "%s: insecure-skip-tls-verify and a certificate authority exclude each other",
                   where);
    return BC_OK;
}

static bc_status read_user(kubeconfig *c, const char *name, bc_kube_config *out)
{
    char where[300];
    const char *token, *token_file;
    yaml_node_t *u;
    bc_status st;
    st = lookup(c, "user", name, where, sizeof where, &u);
    if (st == BC_OK)
        st = str(c, u, "token", where, &token);
    if (st == BC_OK)
        st = str(c, u, "tokenFile", where, &token_file);
    if (st == BC_OK)
        st = pem(c, u, "client-certificate", where, &out->cert_pem);
    if (st == BC_OK)
        st = pem(c, u, "client-key", where, &out->key_pem);
    if (st != BC_OK)
        return st;
    if (!out->cert_pem != !out->key_pem)
        return bad(c, "%s has a client certificate without its key, or a key without its certificate",
                   where);
    /* As kubectl: an inline token wins over tokenFile. */
    if (token) {
        st = copy(token, &out->token);
        if (st != BC_OK)
            return st;
    } else if (token_file) {
        st = resolve(c, token_file, &out->token_file);
        if (st != BC_OK)
            return st;
        if (access(out->token_file, R_OK) != 0)
            return bad(c, "%s: cannot read tokenFile %s: %s", where, out->token_file, strerror(errno));
    } else if (!out->cert_pem) {
        static const char *const unsupported[] = { "exec", "auth-provider", "username" };
        for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
            if (get(c, u, unsupported[i]))
                return bad(c, "%s authenticates with %s, which bc does not support "
                           "(give it a token, tokenFile or client certificate)", where, unsupported[i]);
    }
    return BC_OK;
}

static bc_status read_current_context(kubeconfig *c, bc_kube_config *out)
{
    yaml_node_t *root = yaml_document_get_root_node(&c->doc);
    const char *current, *cluster, *user, *ns;
    bc_status st;
    if (!root || root->type != YAML_MAPPING_NODE)
        return bad(c, "is not a kubeconfig (no mapping at the top)");
    st = str(c, root, "current-context", "the top level", &current);
    if (st != BC_OK)
        return st;
    if (!current)
        return bad(c, "has no current-context");
    yaml_node_t *entry = named(c, "contexts", current);
    if (!entry)
        return bad(c, "current-context \"%s\" is not among its contexts", current);
    char where[300];
    snprintf(where, sizeof where, "context \"%s\"", current);
    yaml_node_t *ctx = get(c, entry, "context");
    st = str(c, ctx, "cluster", where, &cluster);
    if (st == BC_OK)
        st = str(c, ctx, "user", where, &user);
    if (st == BC_OK)
        st = str(c, ctx, "namespace", where, &ns);
    if (st != BC_OK)
        return st;
    if (!cluster)
        return bad(c, "%s names no cluster", where);
    st = read_cluster(c, cluster, out);
    if (st == BC_OK && user)
        st = read_user(c, user, out);
    if (st == BC_OK)
        st = copy(ns, &out->ns);
    if (st != BC_OK)
        return st;
    return copy(c->path, &out->source);
}

bc_status bc_kube_config_parse(const char *text, size_t len, const char *path,
                               bc_kube_config *out)
{
    kubeconfig c = { .path = path };
    yaml_parser_t parser;
    bc_status st;
    memset(out, 0, sizeof *out);
    if (!yaml_parser_initialize(&parser))
        return bc_oom();
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &c.doc)) {
        st = bad(&c, "line %zu: %s", parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "not YAML");
        yaml_parser_delete(&parser);
        return st;
    }
    yaml_parser_delete(&parser);
    st = read_current_context(&c, out);
    yaml_document_delete(&c.doc);
    if (st != BC_OK)
        bc_kube_config_free(out);
    return st;
}

bc_status bc_kube_config_load(const char *path, bc_kube_config *out)
{
    char *text;
    size_t len;
    memset(out, 0, sizeof *out);
    if (bc_read_file(path, FILE_LIMIT, &text, &len) < 0)
        return bc_error(BC_ERR_USAGE, "cannot read kubeconfig %s: %s", path, strerror(errno));
    bc_status st = bc_kube_config_parse(text, len, path, out);
    bc_kube_forget(text);
    return st;
}

/* ---- in-cluster ------------------------------------------------------- */

bc_status bc_kube_config_in_cluster(const char *host, const char *port, const char *sa_dir,
                                    bc_kube_config *out)
{
    char *ca = NULL, *ns = NULL;
    bc_status st = BC_OK;
    memset(out, 0, sizeof *out);
    if (asprintf(&out->token_file, "%s/token", sa_dir) < 0) {
        out->token_file = NULL;
        return bc_oom();
    }
    if (access(out->token_file, F_OK) != 0) {
        bc_kube_config_free(out);
        return BC_ERR_NOTFOUND;
    }
    /* An IPv6 address goes in brackets. */
    const char *lb = strchr(host, ':') ? "[" : "", *rb = *lb ? "]" : "";
    if (asprintf(&out->server, "https://%s%s%s:%s", lb, host, rb, port) < 0 ||
        asprintf(&ca, "%s/ca.crt", sa_dir) < 0 || asprintf(&ns, "%s/namespace", sa_dir) < 0 ||
        asprintf(&out->source, "the service account in %s", sa_dir) < 0) {
        free(ca);
        bc_kube_config_free(out);
        return bc_oom();
    }
    if (bc_read_file(ca, FILE_LIMIT, &out->ca_pem, NULL) < 0)
        st = bc_error(BC_ERR_USAGE, "in-cluster: cannot read the cluster's CA %s: %s", ca,
                      strerror(errno));
    else if (bc_read_file(ns, 4096, &out->ns, NULL) == 0)
        out->ns[strcspn(out->ns, " \t\r\n")] = '\0';
    else if (errno != ENOENT)
        st = bc_error(BC_ERR_USAGE, "in-cluster: cannot read %s: %s", ns, strerror(errno));
    free(ca);
    free(ns);
    if (st != BC_OK)
        bc_kube_config_free(out);
    return st;
}

/* ---- the search order ------------------------------------------------- */

static const char *home_dir(void)
{
    const char *home = getenv("HOME");
    if (home && *home)
        return home;
    struct passwd *pw = getpwuid(getuid());
    return pw ? pw->pw_dir : "/";
}

bc_status bc_kube_config_find(bc_kube_config *out)
{
    const char *list = getenv("KUBECONFIG");
    char path[PATH_MAX];
    memset(out, 0, sizeof *out);

    if (list && *list) {
        list += strspn(list, ":");
        snprintf(path, sizeof path, "%.*s", (int)strcspn(list, ":"), list);
        if (*path)
            return bc_kube_config_load(path, out);
    }

    const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
    const char *sa_dir = getenv("BC_KUBE_SA_DIR");
    int in_pod = host && *host && port && *port;
    if (!sa_dir || !*sa_dir)
        sa_dir = SA_DIR;
    if (in_pod) {
        bc_status st = bc_kube_config_in_cluster(host, port, sa_dir, out);
        if (st != BC_ERR_NOTFOUND)
            return st;
    }

    snprintf(path, sizeof path, "%s/.kube/config", home_dir());
    if (access(path, F_OK) == 0)
        return bc_kube_config_load(path, out);
    if (in_pod)
        return bc_error(BC_ERR_USAGE, "no Kubernetes configuration: KUBECONFIG is not set, %s has "
                        "no service-account token and %s does not exist", sa_dir, path);
    return bc_error(BC_ERR_USAGE, "no Kubernetes configuration: KUBECONFIG is not set, this is "
                    "not a pod (no KUBERNETES_SERVICE_HOST and _PORT) and %s does not exist", path);
}
