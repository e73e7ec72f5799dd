/* Redaction for bc-doctor bundle (see redact.h). A hand-written scanner
 * rather than regular expressions: one linear pass over any bytes, each
 * rule a small matcher at the current position, so that a hostile log
 * line costs what its length costs. */
#include "doctor/redact.h"

#include <ctype.h>
#include <stdint.h>
#include <stdarg.h>
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
    if (!log)
        return;
    for (size_t i = 0; i < log->n; i++)
        free(log->items[i]);
    free(log->items);
    *log = (bc_redactions){0};
}

/* ---- names -------------------------------------------------------------- */

/* Names are compared without case and without '-', '_' and '.', so that
 * secret_access_key, secretAccessKey and AWS_SECRET_ACCESS_KEY are one. */
static int name_sep(unsigned char c)
{
    return c == '-' || c == '_' || c == '.';
}

static int name_has_at(const char *name, size_t n, size_t i, const char *word)
{
    for (const char *w = word; *w; w++, i++) {
        while (i < n && name_sep((unsigned char)name[i]))
            i++;
        if (i >= n || tolower((unsigned char)name[i]) != *w)
            return 0;
    }
    return 1;
}

static int name_has(const char *name, size_t n, const char *word)
{
    for (size_t i = 0; i < n; i++)
        if (!name_sep((unsigned char)name[i]) && name_has_at(name, n, i, word))
            return 1;
    return 0;
}

static int name_ends(const char *name, size_t n, const char *word)
{
    size_t i = n, k = strlen(word);
    while (k > 0) {
        while (i > 0 && name_sep((unsigned char)name[i - 1]))
            i--;
        if (i == 0 || tolower((unsigned char)name[i - 1]) != word[k - 1])
            return 0;
        i--;
        k--;
    }
    return 1;
}

/* A key or variable name that names a credential. What names a Secret
 * (secretName, ...Ref, the cnpg.io/pluginServerSecret annotation) or
 * digests one (checksum/secret) is not a credential: its value is still
 * scanned as text. */
static int credential_name(const char *name, size_t n)
{
    static const char *const words[] = {
        "password", "passwd", "secret", "token", "apikey", "accesskey", "privatekey",
        "connectionstring", "storagekey", "sastoken", "credential", "sessiontoken", "signature",
        "authorization", "cookie", NULL,
    };
    const char *slash = memrchr(name, '/', n);
    if (slash) {
        /* an annotation or label key: the part after its prefix */
        n -= (size_t)(slash + 1 - name);
        name = slash + 1;
        if (name_ends(name, n, "secret"))
            return 0;
    }
    if (n > 4 && strncasecmp(name + n - 4, ".key", 4) == 0)
        return 1;   /* tls.key, ca.key */
    if (name_ends(name, n, "name") || name_ends(name, n, "ref"))
        return 0;
    for (const char *const *w = words; *w; w++)
        if (name_has(name, n, *w))
            return 1;
    return 0;
}

/* ---- text rules --------------------------------------------------------- */


static int b64url_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '-';
}

/* Where a parameter name may start: the start, a space, a query or
 * connection-string separator, a quote or an opening bracket. */
static int param_start(unsigned char c)
{
    return c <= ' ' || (c && strchr("?&;\"',([{", c));
}

/* Parameters whose value is a credential though their name does not say
 * so to credential_name(): Azure SAS and connection strings, ODBC. */
static const char *const secret_params[] = { "sig", "AccountKey", "pwd", NULL };

#define NAME_MAX_LEN 128    /* longer is not a parameter or header name */

typedef struct scan {
    const unsigned char *s;
    size_t len;
    bc_buffer out;
    const char *where;      /* file */
    const char *path;       /* a JSON path, else NULL: line numbers */
    size_t line;
    size_t path_end;        /* inside a path-like run, where it ends */
    bc_redactions *log;
    int changed;
} scan;

static int starts_ci(const scan *sc, size_t i, const char *word)
{
    /* the first byte alone turns nearly every position away, cheaply */
    if (i >= sc->len || tolower(sc->s[i]) != tolower((unsigned char)*word))
        return 0;
    size_t n = strlen(word);
    return i + n <= sc->len && strncasecmp((const char *)sc->s + i, word, n) == 0;
}

static void copy(scan *sc, size_t from, size_t to)
{
    bc_buffer_append(&sc->out, sc->s + from, to - from);
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

/* Length of the value at i, up to a space, a character in stops or the end. */
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
    if (j - i < 22 || !starts_ci(sc, j - 11, "PRIVATE KEY"))
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
    record(sc, "private key");
    return end - i;
}

static size_t authorization_header(scan *sc, size_t i)
{
    if (!starts_ci(sc, i, "authorization:") && !starts_ci(sc, i, "authorization="))
        return 0;
    size_t j = i + 14;
    while (j < sc->len && sc->s[j] == ' ')
        j++;
    size_t v = j;
    while (j < sc->len && sc->s[j] != '\n' && sc->s[j] != '\r' && sc->s[j] != '"')
        j++;
    if (j == v)
        return 0;
    copy(sc, i, v);
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
    copy(sc, i, i + 7);
    record(sc, "bearer token");
    return 7 + n;
}

/* The name of a parameter at i: letters, digits, '-', '_', '.'; its
 * length, 0 when there is none or it is too long to be one. */
static size_t param_name(const scan *sc, size_t i)
{
    size_t j = i;
    while (j < sc->len && j - i <= NAME_MAX_LEN && (isalnum(sc->s[j]) || name_sep(sc->s[j])))
        j++;
    return j - i > NAME_MAX_LEN ? 0 : j - i;
}

static int secret_param(const scan *sc, size_t i, size_t n)
{
    const char *name = (const char *)sc->s + i;
    for (const char *const *p = secret_params; *p; p++)
        if (strlen(*p) == n && strncasecmp(name, *p, n) == 0)
            return 1;
    return credential_name(name, n);
}

/* NAME=VALUE in query strings (X-Amz-Signature=, sig=, token=), connection
 * strings (AccountKey=...;, libpq password='...'), command lines
 * (--password=...) and environment dumps; and, at the start of a line,
 * a header NAME: VALUE (X-Amz-Security-Token:, Cookie:) to its end. */
static size_t param(scan *sc, size_t i)
{
    if (i > 0 && !param_start(sc->s[i - 1]))
        return 0;
    size_t n = param_name(sc, i), j = i + n;
    if (!n || j >= sc->len || (sc->s[j] != '=' && sc->s[j] != ':'))
        return 0;
    if (sc->s[j] == ':' && i > 0 && sc->s[i - 1] != '\n')
        return 0;
    if (!secret_param(sc, i, n))
        return 0;
    size_t v = j + 1, end;
    if (sc->s[j] == ':') {
        while (v < sc->len && sc->s[v] == ' ')
            v++;
        end = v;
        while (end < sc->len && sc->s[end] != '\n' && sc->s[end] != '\r')
            end++;
    } else if (v < sc->len && (sc->s[v] == '\'' || sc->s[v] == '"')) {
        /* a quoted value (libpq): to the closing quote or the line's end */
        unsigned char q = sc->s[v++];
        end = v;
        while (end < sc->len && sc->s[end] != q && sc->s[end] != '\n')
            end += sc->s[end] == '\\' && end + 1 < sc->len && sc->s[end + 1] != '\n' ? 2 : 1;
    } else {
        end = v + value_len(sc, v, "&;\"'<>,");
    }
    if (end == v)
        return 0;
    copy(sc, i, v);
    if (sc->s[j] == '=')
        record(sc, "credential parameter");
    else
        record(sc, name_has((const char *)sc->s + i, n, "authorization") ? "authorization header"
                                                                          : "credential header");
    return end - i;
}

/* One character of JSON text that is itself inside a JSON string when
 * level is 2 (\"password\":\"x\"): its value, and its width in *w. */
static unsigned char json_char(const scan *sc, size_t j, int level, size_t *w)
{
    if (level == 2 && sc->s[j] == '\\' && j + 1 < sc->len) {
        *w = 2;
        return sc->s[j + 1];
    }
    *w = 1;
    return sc->s[j];
}

/* Where the JSON string whose contents start at j ends: its closing
 * quote (*closed set), else where the line ends or max bytes were read. */
static size_t json_string_end(const scan *sc, size_t j, int level, size_t max, int *closed)
{
    size_t start = j, w;
    *closed = 0;
    while (j < sc->len && sc->s[j] != '\n' && j - start <= max) {
        unsigned char c = json_char(sc, j, level, &w);
        if (c == '"') {
            *closed = 1;
            return j;
        }
        j += w;
        if (c == '\\' && j < sc->len && sc->s[j] != '\n') {
            json_char(sc, j, level, &w);
            j += w;
        }
    }
    return j;
}

/* "KEY": "VALUE" in text holding JSON (a JSON log line, a message that
 * quotes a request), at one level of escaping or two. A value the line
 * cuts short (a log tail's limit) is redacted to the line's end. */
static size_t json_field(scan *sc, size_t i)
{
    int level = sc->s[i] == '"' ? 1 : sc->s[i] == '\\' && i + 1 < sc->len && sc->s[i + 1] == '"' ? 2 : 0;
    if (!level)
        return 0;
    int closed;
    size_t k = i + (size_t)level, kend = json_string_end(sc, k, level, NAME_MAX_LEN, &closed), w;
    if (!closed || !credential_name((const char *)sc->s + k, kend - k))
        return 0;
    size_t j = kend + (size_t)level;
    while (j < sc->len && sc->s[j] == ' ')
        j++;
    if (j >= sc->len || sc->s[j++] != ':')
        return 0;
    while (j < sc->len && sc->s[j] == ' ')
        j++;
    if (j >= sc->len || json_char(sc, j, level, &w) != '"' || w != (size_t)level)
        return 0;
    size_t v = j + w, vend = json_string_end(sc, v, level, SIZE_MAX, &closed);
    if (vend == v)
        return 0;
    copy(sc, i, v);
    record(sc, "credential key");
    return vend - i;
}

/* scheme://user:PASSWORD@host: the password is what lies between the
 * first ':' and the last '@' of the authority. */
static size_t url_password(scan *sc, size_t i)
{
    if (!starts_ci(sc, i, "://"))
        return 0;
    size_t j = i + 3, colon = 0, at = 0;
    while (j < sc->len && sc->s[j] > ' ' && !strchr("/?#\"'<>", sc->s[j])) {
        if (sc->s[j] == ':' && !colon)
            colon = j;
        if (sc->s[j] == '@')
            at = j;
        j++;
    }
    if (!colon || at < colon + 2)
        return 0;
    copy(sc, i, colon + 1);
    record(sc, "url password");
    return at - i;
}

static size_t aws_key_id(scan *sc, size_t i)
{
    if ((i > 0 && isalnum(sc->s[i - 1])) || i + 20 > sc->len ||
        (memcmp(sc->s + i, "AKIA", 4) != 0 && memcmp(sc->s + i, "ASIA", 4) != 0))
        return 0;
    size_t j = i + 4;
    while (j < i + 20 && (isupper(sc->s[j]) || isdigit(sc->s[j])))
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

/* Holds an upper and a lower case letter and a digit, as keys and their
 * base64 do and hex digests, UUIDs, WAL names and words do not. */
static int mixed(const unsigned char *s, size_t n)
{
    int upper = 0, lower = 0, digit = 0;
    for (size_t i = 0; i < n; i++) {
        upper |= isupper(s[i]) != 0;
        lower |= islower(s[i]) != 0;
        digit |= isdigit(s[i]) != 0;
    }
    return upper && lower && digit;
}

/* A run reads as a path when two of its '/'-separated parts are
 * lower-case words of four letters or more (s3://bucket/pg-main/base/
 * 20240101T000000/data, which a backup id's T would otherwise make
 * opaque): a random 40 or 88 character base64 key has two such parts a
 * few times in a million. */
static int path_like(const unsigned char *s, size_t n)
{
    int words = 0;
    for (size_t i = 0; i < n && words < 2;) {
        size_t j = i, letters = 0;
        while (j < n && s[j] != '/' && (islower(s[j]) || s[j] == '-' || s[j] == '_'))
            letters += islower(s[j++]) != 0;
        if (letters >= 4 && (j == n || s[j] == '/'))
            words++;
        while (j < n && s[j] != '/')
            j++;
        i = j + 1;
    }
    return words >= 2;
}

/* A run is of [A-Za-z0-9+/_-], and '=' only as base64's padding at its
 * end: elsewhere '=' separates a name from its value
 * (X-Amz-Algorithm=AWS4-HMAC-SHA256 is two short runs). */
static int run_char(unsigned char c)
{
    return isalnum(c) || c == '+' || c == '/' || c == '_' || c == '-';
}

static size_t run_end(const scan *sc, size_t i)
{
    while (i < sc->len && run_char(sc->s[i]))
        i++;
    size_t pad = i;
    while (pad < sc->len && sc->s[pad] == '=')
        pad++;
    return pad < sc->len && run_char(sc->s[pad]) ? i : pad;
}

/* A run of 32 or more base64-ish characters that is mixed(); in a path,
 * each part between '/' on its own. */
static size_t opaque(scan *sc, size_t i)
{
    size_t end;
    if (i < sc->path_end) {
        if (sc->s[i - 1] != '/')
            return 0;
        end = sc->path_end;
    } else {
        if (!run_char(sc->s[i]) || (i > 0 && run_char(sc->s[i - 1])))
            return 0;
        end = run_end(sc, i);
        if (end - i < 32)
            return 0;
        if (path_like(sc->s + i, end - i))
            sc->path_end = end;
    }
    if (i < sc->path_end) {
        size_t part = i;
        while (part < end && sc->s[part] != '/')
            part++;
        end = part;
    }
    if (end - i < 32 || !mixed(sc->s + i, end - i))
        return 0;
    record(sc, "opaque token");
    return end - i;
}

static size_t (*const matchers[])(scan *, size_t) = {
    private_key, authorization_header, bearer, param, json_field, url_password, aws_key_id, jwt,
    opaque,
};

static void scan_text(scan *sc)
{
    sc->line = 1;
    for (size_t i = 0; i < sc->len;) {
        size_t used = 0;
        for (size_t m = 0; m < sizeof matchers / sizeof *matchers && !used; m++)
            used = matchers[m](sc, i);
        if (!used) {
            /* one byte at a time: each matcher looks back one byte to see
             * whether a token starts here, so that none matches a tail */
            bc_buffer_addc(&sc->out, (char)sc->s[i]);
            used = 1;
        }
        for (size_t k = i; k < i + used; k++)
            sc->line += sc->s[k] == '\n';
        i += used;
    }
}

char *bc_redact_text(const char *text, size_t len, const char *where, bc_redactions *log,
                     size_t *out_len)
{
    scan sc = {.s = (const unsigned char *)text, .len = len, .where = where, .log = log};
    scan_text(&sc);
    *out_len = sc.out.len;
    char *out = bc_buffer_take(&sc.out);
    if (!out || log->oom) {
        free(out);
        *out_len = 0;
        return NULL;
    }
    return out;
}

/* ---- JSON --------------------------------------------------------------- */

typedef struct walk {
    const char *where;
    bc_redactions *log;
    char path[1024];        /* of the value being walked, cut short if longer */
    size_t len;
    bc_status st;
} walk;

/* Appends a step to the path; returns the length to go back to. */
static size_t path_push(walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t path_push(walk *w, const char *fmt, ...)
{
    size_t old = w->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->path + w->len, sizeof w->path - w->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        w->len = old + (size_t)n < sizeof w->path ? old + (size_t)n : sizeof w->path - 1;
    return old;
}

static void path_pop(walk *w, size_t old)
{
    w->len = old;
    w->path[old] = '\0';
}

static void redact_whole(walk *w, json_t *v, const char *rule)
{
    if (!json_string_length(v))
        return;     /* nothing to take out */
    char place[1200];
    snprintf(place, sizeof place, "%s: %s", w->where, w->path);
    bc_redactions_add(w->log, place, rule);
    if (json_string_set(v, BC_REDACTED) != 0)
        w->st = bc_oom();
}

static void walk_string(walk *w, json_t *v)
{
    scan sc = {.s = (const unsigned char *)json_string_value(v), .len = json_string_length(v),
               .where = w->where, .path = w->path, .log = w->log};
    scan_text(&sc);
    /* cut only at ASCII bytes: valid UTF-8 stays valid */
    if (sc.changed && (sc.out.failed != BC_OK ||
                       json_string_setn_nocheck(v, (const char *)sc.out.data, sc.out.len) != 0))
        w->st = bc_oom();
    bc_buffer_free(&sc.out);
}

/* rule, when set, redacts v if it is a string, or the strings of v if it
 * is an array: v sits under a credential-like key. An object there is a
 * Secret reference ({"name": ..., "key": ...}) and is walked as any. */
static void walk_value(walk *w, json_t *v, const char *rule)
{
    if (json_is_string(v)) {
        if (rule)
            redact_whole(w, v, rule);
        else
            walk_string(w, v);
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v) && w->st == BC_OK; i++) {
            size_t old = path_push(w, "[%zu]", i);
            walk_value(w, json_array_get(v, i), rule);
            path_pop(w, old);
        }
    } else if (json_is_object(v)) {
        const json_t *name = json_object_get(v, "name");
        const char *env = json_string_value(name);
        int env_secret = env && json_is_string(json_object_get(v, "value")) &&
                         credential_name(env, json_string_length(name));
        /* should a Secret ever be in the input, none of its values */
        const char *kind = json_string_value(json_object_get(v, "kind"));
        int secret = kind && strcmp(kind, "Secret") == 0;
        char env_rule[160] = "";
        if (env_secret)
            snprintf(env_rule, sizeof env_rule, "env %.100s", env);
        const char *k;
        json_t *child;
        json_object_foreach(v, k, child) {
            if (w->st != BC_OK)
                break;
            size_t old = path_push(w, "%s%s", w->len ? "." : "", k);
            const char *child_rule = NULL;
            if (env_secret && strcmp(k, "value") == 0)
                child_rule = env_rule;
            else if (strcmp(k, "kubectl.kubernetes.io/last-applied-configuration") == 0 &&
                     json_is_string(child))
                child_rule = "last-applied-configuration";
            else if (credential_name(k, strlen(k)))
                child_rule = "credential key";
            if (secret && json_is_object(child) &&
                (strcmp(k, "data") == 0 || strcmp(k, "stringData") == 0)) {
                const char *dk;
                json_t *dv;
                json_object_foreach(child, dk, dv) {
                    size_t dold = path_push(w, ".%s", dk);
                    walk_value(w, dv, "secret data");
                    path_pop(w, dold);
                }
            } else {
                walk_value(w, child, child_rule);
            }
            path_pop(w, old);
        }
    }
}

bc_status bc_redact_json(json_t *doc, const char *where, bc_redactions *log)
{
    walk w = {.where = where, .log = log, .st = BC_OK};
    walk_value(&w, doc, NULL);
    return w.st == BC_OK && log->oom ? bc_oom() : w.st;
}
