/* Redaction for bc-doctor bundle (see redact.h). A hand-written scanner
 * rather than regular expressions: one linear pass over any bytes, each
 * rule a small matcher at the current position, so that a hostile log
 * line costs what its length costs. */
#include "doctor/redact.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buffer.h"

void bc_redactions_add(bc_redactions *log, const char *where, const char *rule)
{
    if (log->n == log->cap) {
        size_t cap = log->cap ? 2 * log->cap : 32;
        char **grown = realloc(log->items, cap * sizeof *grown);
        if (!grown) {
            log->oom = 1;
            return;
        }
        log->items = grown;
        log->cap = cap;
    }
    size_t n = strlen(where) + strlen(rule) + 4;
    char *line = malloc(n);
    if (!line) {
        log->oom = 1;
        return;
    }
    snprintf(line, n, "%s (%s)", where, rule);
    log->items[log->n++] = line;
}

void bc_redactions_free(bc_redactions *log)
{
    for (size_t i = 0; i < log->n; i++)
        free(log->items[i]);
    free(log->items);
    *log = (bc_redactions){0};
}

/* ---- text rules --------------------------------------------------------- */

static int token_char(unsigned char c)
{
    return isalnum(c) || c == '+' || c == '/' || c == '=' || c == '_' || c == '-';
}

static int b64url_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '-';
}

/* The parameters whose value is a credential, in query strings
 * (presigned URLs, SAS tokens) and in connection strings (Azure, libpq). */
static const char *const secret_params[] = {
    "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token", "X-Goog-Signature",
    "X-Goog-Credential", "AWSAccessKeyId", "Signature", "sig", "access_token", "token",
    "AccountKey", "SharedAccessSignature", "Password", "passwd", "SessionToken", NULL,
};

typedef struct scan {
    const unsigned char *s;
    size_t len;
    bc_buffer out;
    const char *where;      /* file */
    const char *path;       /* a JSON path, else NULL: line numbers */
    size_t line;
    bc_redactions *log;
    int changed;
} scan;

static int starts_ci(const scan *sc, size_t i, const char *word)
{
    size_t n = strlen(word);
    return i + n <= sc->len && strncasecmp((const char *)sc->s + i, word, n) == 0;
}

static void record(scan *sc, const char *rule)
{
    char place[1024];
    if (sc->path)
        snprintf(place, sizeof place, "%s: %s", sc->where, sc->path);
    else
        snprintf(place, sizeof place, "%s: line %zu", sc->where, sc->line);
    bc_redactions_add(sc->log, place, rule);
    bc_buffer_adds(&sc->out, BC_REDACTED);
    sc->changed = 1;
}

/* Length of the value at i, up to a character in stops or the end. */
static size_t value_len(const scan *sc, size_t i, const char *stops)
{
    size_t j = i;
    while (j < sc->len && sc->s[j] > ' ' && !strchr(stops, sc->s[j]))
        j++;
    return j - i;
}

/* Each matcher: at i, the length of what it consumed (copied or
 * redacted into out), or 0 when it does not match. */

static size_t private_key(scan *sc, size_t i)
{
    if (!starts_ci(sc, i, "-----BEGIN "))
        return 0;
    size_t j = i + 11;
    while (j < sc->len && sc->s[j] != '\n' && !starts_ci(sc, j, "-----"))
        j++;
    if (j - i < 16 || !starts_ci(sc, j - 11, "PRIVATE KEY"))
        return 0;
    size_t end = j;
    while (end < sc->len && !starts_ci(sc, end, "-----END "))
        end++;
    if (end < sc->len) {
        end += 9;
        while (end < sc->len && !starts_ci(sc, end, "-----"))
            end++;
        end = end + 5 <= sc->len ? end + 5 : sc->len;
    }
    record(sc, "private key");      /* at the line it starts on */
    for (size_t k = i; k < end; k++)
        sc->line += sc->s[k] == '\n';
    return end - i;
}

static size_t authorization_header(scan *sc, size_t i)
{
    if (!starts_ci(sc, i, "authorization:") && !starts_ci(sc, i, "authorization="))
        return 0;
    size_t j = i + 14;
    bc_buffer_append(&sc->out, sc->s + i, j - i);
    while (j < sc->len && sc->s[j] == ' ')
        bc_buffer_addc(&sc->out, (char)sc->s[j++]);
    size_t v = j;
    while (j < sc->len && sc->s[j] != '\n' && sc->s[j] != '\r' && sc->s[j] != '"')
        j++;
    if (j > v)
        record(sc, "authorization header");
    return j - i;
}

static size_t bearer(scan *sc, size_t i)
{
    if (!starts_ci(sc, i, "bearer "))
        return 0;
    size_t n = value_len(sc, i + 7, "\"'<>,;");
    if (n < 8)
        return 0;
    bc_buffer_append(&sc->out, sc->s + i, 7);
    record(sc, "bearer token");
    return 7 + n;
}

static size_t param(scan *sc, size_t i)
{
    if (i > 0 && !strchr("?&; \t\"',", sc->s[i - 1]))
        return 0;
    for (const char *const *p = secret_params; *p; p++) {
        size_t n = strlen(*p);
        if (starts_ci(sc, i, *p) && i + n < sc->len && sc->s[i + n] == '=') {
            size_t v = value_len(sc, i + n + 1, "&;\"'<>,");
            if (!v)
                return 0;
            bc_buffer_append(&sc->out, sc->s + i, n + 1);
            record(sc, "credential parameter");
            return n + 1 + v;
        }
    }
    return 0;
}

/* scheme://user:PASSWORD@host */
static size_t url_password(scan *sc, size_t i)
{
    if (!starts_ci(sc, i, "://"))
        return 0;
    size_t j = i + 3, colon = 0;
    while (j < sc->len && sc->s[j] > ' ' && !strchr("/?#@\"'", sc->s[j])) {
        if (sc->s[j] == ':' && !colon)
            colon = j;
        j++;
    }
    if (!colon || j >= sc->len || sc->s[j] != '@' || j == colon + 1)
        return 0;
    bc_buffer_append(&sc->out, sc->s + i, colon + 1 - i);
    record(sc, "url password");
    return j - i;
}

static size_t aws_key_id(scan *sc, size_t i)
{
    if ((i > 0 && isalnum(sc->s[i - 1])) || i + 20 > sc->len ||
        (memcmp(sc->s + i, "AKIA", 4) != 0 && memcmp(sc->s + i, "ASIA", 4) != 0))
        return 0;
    size_t j = i + 4;
    while (j < sc->len && j < i + 20 && (isupper(sc->s[j]) || isdigit(sc->s[j])))
        j++;
    if (j != i + 20 || (j < sc->len && isalnum(sc->s[j])))
        return 0;
    record(sc, "aws access key id");
    return 20;
}

static size_t jwt(scan *sc, size_t i)
{
    if (i + 3 > sc->len || memcmp(sc->s + i, "eyJ", 3) != 0 || (i > 0 && b64url_char(sc->s[i - 1])))
        return 0;
    size_t j = i, dots = 0, part = 0;
    while (j < sc->len && (b64url_char(sc->s[j]) || (sc->s[j] == '.' && dots < 2 && part >= 5))) {
        if (sc->s[j] == '.') {
            dots++;
            part = 0;
        } else {
            part++;
        }
        j++;
    }
    if (dots < 2)
        return 0;
    record(sc, "jwt");
    return j - i;
}

/* A long run of base64-ish characters holding upper and lower case and a
 * digit: keys, tokens and base64 of them, but not hex digests, UUIDs,
 * WAL names or words. */
static size_t opaque(scan *sc, size_t i)
{
    if (i > 0 && token_char(sc->s[i - 1]))
        return 0;
    size_t j = i;
    int upper = 0, lower = 0, digit = 0;
    while (j < sc->len && token_char(sc->s[j])) {
        upper |= isupper(sc->s[j]) != 0;
        lower |= islower(sc->s[j]) != 0;
        digit |= isdigit(sc->s[j]) != 0;
        j++;
    }
    if (j - i < 32 || !upper || !lower || !digit)
        return 0;
    record(sc, "opaque token");
    return j - i;
}

static size_t (*const matchers[])(scan *, size_t) = {
    private_key, authorization_header, bearer, param, url_password, aws_key_id, jwt, opaque,
};

static void scan_text(scan *sc)
{
    sc->line = 1;
    for (size_t i = 0; i < sc->len;) {
        size_t used = 0;
        for (size_t m = 0; m < sizeof matchers / sizeof *matchers && !used; m++)
            used = matchers[m](sc, i);
        if (used) {
            i += used;
            continue;
        }
        /* one byte at a time: each matcher looks back one byte to see
         * whether a token starts here, so that none matches a tail */
        sc->line += sc->s[i] == '\n';
        bc_buffer_addc(&sc->out, (char)sc->s[i]);
        i++;
    }
}

char *bc_redact_text(const char *text, size_t len, const char *where, bc_redactions *log,
                     size_t *out_len)
{
    scan sc = {.s = (const unsigned char *)text, .len = len, .where = where, .log = log};
    scan_text(&sc);
    bc_buffer_adds(&sc.out, "");
    *out_len = sc.out.len;
    return bc_buffer_take(&sc.out);
}

/* ---- JSON --------------------------------------------------------------- */

/* A key or variable name that names a credential. Names of Secrets
 * (secretName, ...Ref) and annotation or label keys (with a '/') are not
 * credentials: their values are still scanned as text. */
static int credential_name(const char *key)
{
    static const char *const words[] = {
        "password", "passwd", "token", "apikey", "accesskey", "privatekey", "connectionstring",
        "storagekey", "sastoken", "credential", "signature", "authorization", "cookie",
        "secret", NULL,
    };
    if (strchr(key, '/'))
        return 0;
    char norm[128];
    size_t n = 0;
    for (const char *c = key; *c && n < sizeof norm - 1; c++)
        if (!strchr("-_.", *c))
            norm[n++] = (char)tolower((unsigned char)*c);
    norm[n] = '\0';
    size_t klen = strlen(key);
    if (klen > 4 && strcmp(key + klen - 4, ".key") == 0)
        return 1;
    if ((n > 4 && strcmp(norm + n - 4, "name") == 0) || (n > 3 && strcmp(norm + n - 3, "ref") == 0))
        return 0;
    for (const char *const *w = words; *w; w++)
        if (strstr(norm, *w))
            return 1;
    return 0;
}

typedef struct walk {
    const char *where;
    bc_redactions *log;
    bc_status st;
} walk;

static void redact_whole(walk *w, json_t *parent, const char *key, size_t index,
                         const char *path, const char *rule)
{
    char place[1024];
    snprintf(place, sizeof place, "%s: %s", w->where, path);
    bc_redactions_add(w->log, place, rule);
    if (key ? json_object_set_new(parent, key, json_string(BC_REDACTED))
            : json_array_set_new(parent, index, json_string(BC_REDACTED)))
        w->st = bc_oom();
}

static void walk_value(walk *w, json_t *parent, const char *key, size_t index, json_t *v,
                       const char *path);

static void walk_string(walk *w, json_t *parent, const char *key, size_t index, json_t *v,
                        const char *path)
{
    scan sc = {.s = (const unsigned char *)json_string_value(v), .len = json_string_length(v),
               .where = w->where, .path = path, .log = w->log};
    scan_text(&sc);
    if (sc.changed) {
        json_t *clean = json_stringn((const char *)sc.out.data, sc.out.len);
        if (!clean || (key ? json_object_set_new(parent, key, clean)
                           : json_array_set_new(parent, index, clean)))
            w->st = bc_oom();
    }
    bc_buffer_free(&sc.out);
}

static void walk_value(walk *w, json_t *parent, const char *key, size_t index, json_t *v,
                       const char *path)
{
    char sub[1024];
    if (json_is_object(v)) {
        const char *env_name = json_string_value(json_object_get(v, "name"));
        int env_secret = env_name && json_is_string(json_object_get(v, "value")) &&
                         credential_name(env_name);
        const char *k;
        json_t *child;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, child) {
            snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", k);
            if (json_is_string(child) && !strcmp(k, "value") && env_secret) {
                char rule[160];
                snprintf(rule, sizeof rule, "env %.100s", env_name);
                redact_whole(w, v, k, 0, sub, rule);
            } else if (json_is_string(child) &&
                       !strcmp(k, "kubectl.kubernetes.io/last-applied-configuration")) {
                redact_whole(w, v, k, 0, sub, "last-applied-configuration");
            } else if (json_is_string(child) && credential_name(k)) {
                redact_whole(w, v, k, 0, sub, "credential key");
            } else {
                walk_value(w, v, k, 0, child, sub);
            }
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            walk_value(w, v, NULL, i, json_array_get(v, i), sub);
        }
    } else if (json_is_string(v) && parent) {
        walk_string(w, parent, key, index, v, path);
    }
}

bc_status bc_redact_json(json_t *doc, const char *where, bc_redactions *log)
{
    walk w = {.where = where, .log = log, .st = BC_OK};
    walk_value(&w, NULL, NULL, 0, doc, "");
    return log->oom ? bc_oom() : w.st;
}
