/* bc-ls output. Field values, defaults and formats follow barman 3.x:
 * BackupInfo.to_json() (infofile.py), barman-cloud-backup-list's table,
 * ConsoleOutputWriter.render_show_backup() (output.py) and
 * check_archive_usable() (xlog.py). */
#include "backup/listing.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/catalog.h"
#include "layout/base.h"
#include "util/buffer.h"
#include "util/log.h"
#include "wal/wal.h"

#define MIB (INT64_C(1) << 20)

static bc_status out_of_memory(void)
{
    return bc_error(BC_ERR_INTERNAL, "out of memory");
}

/* ---- JSON written as Python's json.dumps() writes it ---- */

/* Length of the UTF-8 sequence at s, 0 if it is not valid. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t c, min;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0)
        len = 2, c = s[0] & 0x1F, min = 0x80;
    else if ((s[0] & 0xF0) == 0xE0)
        len = 3, c = s[0] & 0x0F, min = 0x800;
    else if ((s[0] & 0xF8) == 0xF0)
        len = 4, c = s[0] & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

/* ensure_ascii: printable ASCII as is, the rest as lower-case \uXXXX. */
static void write_json_string(FILE *out, const char *s, size_t n)
{
    putc('"', out);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (k == 0)
            cp = 0xFFFD, k = 1;
        i += k;
        const char *esc = cp == '"' ? "\\\"" : cp == '\\' ? "\\\\" : cp == '\n' ? "\\n"
                        : cp == '\r' ? "\\r" : cp == '\t' ? "\\t" : cp == '\b' ? "\\b"
                        : cp == '\f' ? "\\f" : NULL;
        if (esc)
            fputs(esc, out);
        else if (cp >= 0x20 && cp < 0x7F)
            putc((int)cp, out);
        else if (cp < 0x10000)
            fprintf(out, "\\u%04" PRIx32, cp);
        else
            fprintf(out, "\\u%04" PRIx32 "\\u%04" PRIx32, 0xD800 | (cp - 0x10000) >> 10,
                    0xDC00 | (cp & 0x3FF));
    }
    putc('"', out);
}

/* Python's repr(float): the shortest digits that read back as v, fixed
 * notation for exponents -4..15, else d.ddde+XX. */
static void py_float_repr(double v, char *out, size_t outlen)
{
    if (isnan(v) || isinf(v)) {
        snprintf(out, outlen, "%s", isnan(v) ? "NaN" : v < 0 ? "-Infinity" : "Infinity");
        return;
    }
    char sci[48], digits[24];
    for (int precision = 0; precision < 17; precision++) {
        snprintf(sci, sizeof sci, "%.*e", precision, v);
        if (strtod(sci, NULL) == v)
            break;
    }
    const char *p = sci + (sci[0] == '-');
    size_t nd = 0;
    for (; *p && *p != 'e'; p++)
        if (isdigit((unsigned char)*p) && nd < sizeof digits - 1)
            digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    int point = atoi(p + 1) + 1; /* digits are 0.DDD x 10^point */
    size_t n = (size_t)snprintf(out, outlen, "%s", signbit(v) ? "-" : "");
    if (point > -4 && point <= 16) {
        if (point <= 0)
            snprintf(out + n, outlen - n, "0.%.*s%s", -point, "0000", digits);
        else if ((size_t)point >= nd)
            snprintf(out + n, outlen - n, "%s%.*s.0", digits, point - (int)nd,
                     "0000000000000000");
        else
            snprintf(out + n, outlen - n, "%.*s.%s", point, digits, digits + point);
    } else {
        snprintf(out + n, outlen - n, "%c%s%se%c%02d", digits[0], nd > 1 ? "." : "",
                 digits + 1, point - 1 < 0 ? '-' : '+', abs(point - 1));
    }
}

static void write_json(FILE *out, json_t *v)
{
    const char *key;
    json_t *item;
    size_t i;
    char number[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        putc('{', out);
        i = 0;
        json_object_foreach(v, key, item) {
            fputs(i++ ? ", " : "", out);
            write_json_string(out, key, strlen(key));
            fputs(": ", out);
            write_json(out, item);
        }
        putc('}', out);
        break;
    case JSON_ARRAY:
        putc('[', out);
        json_array_foreach(v, i, item) {
            fputs(i ? ", " : "", out);
            write_json(out, item);
        }
        putc(']', out);
        break;
    case JSON_STRING:
        write_json_string(out, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        py_float_repr(json_real_value(v), number, sizeof number);
        fputs(number, out);
        break;
    case JSON_TRUE: fputs("true", out); break;
    case JSON_FALSE: fputs("false", out); break;
    case JSON_NULL: fputs("null", out); break;
    }
}

/* ---- Python literals (ast.literal_eval) as JSON values ----
 * copy_stats, included_files and snapshots_info hold repr() of dicts and
 * lists. Anything json.dumps could not write (sets, bytes, complex) is
 * refused, and the caller falls back to the text. */

typedef struct literal {
    const char *p;
    int depth;
} literal;

static json_t *literal_value(literal *l);

static void literal_skip(literal *l)
{
    while (*l->p && strchr(" \t\r\n\f", *l->p))
        l->p++;
}

static bool literal_eat(literal *l, char c)
{
    literal_skip(l);
    if (*l->p != c)
        return false;
    l->p++;
    return true;
}

static bool literal_word(literal *l, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(l->p, word, n) || isalnum((unsigned char)l->p[n]) || l->p[n] == '_')
        return false;
    l->p += n;
    return true;
}

static bool hex_value(const char **s, int digits, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < digits; i++, (*s)++) {
        char c = **s;
        if (!isxdigit((unsigned char)c))
            return false;
        v = v << 4 | (uint32_t)(isdigit((unsigned char)c) ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    *out = v;
    return true;
}

static bool append_utf8(bc_buffer *b, uint32_t c)
{
    unsigned char u[4];
    size_t n;
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return false; /* lone surrogates: not representable in UTF-8 */
    if (c < 0x80)
        u[0] = (unsigned char)c, n = 1;
    else if (c < 0x800)
        u[0] = (unsigned char)(0xC0 | c >> 6), u[1] = (unsigned char)(0x80 | (c & 0x3F)), n = 2;
    else if (c < 0x10000)
        u[0] = (unsigned char)(0xE0 | c >> 12), u[1] = (unsigned char)(0x80 | (c >> 6 & 0x3F)),
        u[2] = (unsigned char)(0x80 | (c & 0x3F)), n = 3;
    else
        u[0] = (unsigned char)(0xF0 | c >> 18), u[1] = (unsigned char)(0x80 | (c >> 12 & 0x3F)),
        u[2] = (unsigned char)(0x80 | (c >> 6 & 0x3F)), u[3] = (unsigned char)(0x80 | (c & 0x3F)),
        n = 4;
    return bc_buffer_append(b, u, n) == 0;
}

/* One backslash escape of a (non-raw) string literal, after the backslash. */
static bool literal_escape(const char **s, bc_buffer *b)
{
    static const char simple[] = "\\\\''\"\"a\ab\bf\fn\nr\rt\tv\v";
    char c = *(*s)++;
    uint32_t cp = 0;
    for (const char *e = simple; *e; e += 2)
        if (c == e[0])
            return bc_buffer_append(b, &e[1], 1) == 0;
    if (c == '\n')
        return true; /* line continuation */
    if (c == 'x' || c == 'u' || c == 'U') {
        if (!hex_value(s, c == 'x' ? 2 : c == 'u' ? 4 : 8, &cp))
            return false;
    } else if (c >= '0' && c <= '7') {
        cp = (uint32_t)(c - '0');
        for (int i = 0; i < 2 && **s >= '0' && **s <= '7'; i++)
            cp = cp * 8 + (uint32_t)(*(*s)++ - '0');
    } else if (c == '\0' || c == 'N') {
        return false;
    } else {
        (*s)--; /* unknown escapes keep their backslash */
        return bc_buffer_append(b, "\\", 1) == 0;
    }
    return append_utf8(b, cp);
}

/* One string literal or several adjacent ones (Python joins them). */
static json_t *literal_string(literal *l)
{
    bc_buffer b = {0};
    bool any = false, ok = true;
    for (;;) {
        const char *q = l->p;
        while (*q && strchr(" \t\r\n\f", *q))
            q++;
        bool raw = *q == 'r' || *q == 'R';
        if (raw || *q == 'u' || *q == 'U')
            q++;
        if (*q != '\'' && *q != '"')
            break;
        char quote = *q++;
        if (q[0] == quote && q[1] == quote) {
            ok = false; /* triple quotes: repr() never writes them */
            break;
        }
        while (ok && *q != quote) {
            if (*q == '\0' || *q == '\n') {
                ok = false;
            } else if (*q != '\\') {
                ok = bc_buffer_append(&b, q++, 1) == 0;
            } else if (raw) {
                ok = q[1] != '\0' && bc_buffer_append(&b, q, 2) == 0;
                q += 2;
            } else {
                q++;
                ok = literal_escape(&q, &b);
            }
        }
        if (!ok)
            break;
        l->p = q + 1;
        any = true;
    }
    json_t *v = NULL;
    if (ok && any)
        v = json_stringn((const char *)(b.data ? b.data : (unsigned char *)""), b.len);
    bc_buffer_free(&b);
    return v;
}

/* Decimal int or float, digits grouped with '_' allowed. */
static json_t *literal_number(literal *l, bool negative)
{
    char buf[128];
    size_t n = 0;
    bool real = false;
    const char *s = l->p;
    for (; n + 2 < sizeof buf; s++) {
        if (isdigit((unsigned char)*s)) {
            buf[n++] = *s;
        } else if (*s == '_' && isdigit((unsigned char)s[1]) && n) {
            continue;
        } else if (*s == '.' || *s == 'e' || *s == 'E') {
            real = true;
            buf[n++] = *s;
            if ((*s == 'e' || *s == 'E') && (s[1] == '+' || s[1] == '-'))
                buf[n++] = *++s;
        } else {
            break;
        }
    }
    buf[n] = '\0';
    if (n == 0 || isalnum((unsigned char)*s) || *s == '_' || *s == '.')
        return NULL; /* hexadecimal, complex, too long */
    l->p = s;
    char *end;
    if (real) {
        double d = strtod(buf, &end);
        return *end ? NULL : json_real(negative ? -d : d);
    }
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (*end || errno || (n > 1 && buf[0] == '0' && strspn(buf, "0") != n))
        return NULL;
    return json_integer(negative ? -v : v);
}

/* json.dumps turns dict keys into strings this way. */
static const char *literal_key(json_t *k, char *buf, size_t len)
{
    switch (json_typeof(k)) {
    case JSON_STRING: return json_string_value(k);
    case JSON_INTEGER:
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(k));
        return buf;
    case JSON_REAL: py_float_repr(json_real_value(k), buf, len); return buf;
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    default: return NULL;
    }
}

static json_t *literal_dict(literal *l)
{
    json_t *obj = json_object();
    bool more = true;
    while (obj && more && !literal_eat(l, '}')) {
        char buf[64];
        json_t *k = literal_value(l);
        const char *key = k ? literal_key(k, buf, sizeof buf) : NULL;
        json_t *v = key && literal_eat(l, ':') ? literal_value(l) : NULL;
        bool bad = !v || json_object_set_new(obj, key, v) != 0;
        json_decref(k);
        more = !bad && literal_eat(l, ',');
        if (bad || (!more && !literal_eat(l, '}'))) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

/* A list, or a tuple (close ')'); "(x)" without a comma is just x. */
static json_t *literal_sequence(literal *l, char close)
{
    json_t *arr = json_array();
    bool more = true, comma = false;
    while (arr && more && !literal_eat(l, close)) {
        bool bad = json_array_append_new(arr, literal_value(l)) != 0;
        more = comma = !bad && literal_eat(l, ',');
        if (bad || (!more && !literal_eat(l, close))) {
            json_decref(arr);
            return NULL;
        }
    }
    if (arr && close == ')' && json_array_size(arr) == 1 && !comma) {
        json_t *only = json_incref(json_array_get(arr, 0));
        json_decref(arr);
        return only;
    }
    return arr;
}

static json_t *literal_value(literal *l)
{
    json_t *v = NULL;
    literal_skip(l);
    if (l->depth >= 64)
        return NULL;
    l->depth++;
    char c = *l->p;
    if (c == '[' || c == '(') {
        l->p++;
        v = literal_sequence(l, c == '[' ? ']' : ')');
    } else if (c == '{') {
        l->p++;
        v = literal_dict(l);
    } else if (c == '-' || c == '+') {
        l->p++;
        literal_skip(l);
        if (isdigit((unsigned char)*l->p) || *l->p == '.')
            v = literal_number(l, c == '-');
    } else if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)l->p[1]))) {
        v = literal_number(l, false);
    } else if (literal_word(l, "True")) {
        v = json_true();
    } else if (literal_word(l, "False")) {
        v = json_false();
    } else if (literal_word(l, "None")) {
        v = json_null();
    } else {
        v = literal_string(l);
    }
    l->depth--;
    return v;
}

static json_t *literal_to_json(const char *text)
{
    literal l = {.p = text};
    json_t *v = literal_value(&l);
    literal_skip(&l);
    if (v && *l.p) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

/* ---- barman's datetime formats ---- */

static bool local_fields(const bc_backup_time *t, struct tm *tm)
{
    time_t local = t->when + t->utc_offset; /* the wall clock the time was written in */
    return gmtime_r(&local, tm) != NULL;
}

/* datetime.ctime(): "Tue Mar  5 14:22:31 2024". */
static void format_ctime(const bc_backup_time *t, char *out, size_t len)
{
    static const char days[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    if (!local_fields(t, &tm))
        snprintf(out, len, "?");
    else
        snprintf(out, len, "%s %s %2d %02d:%02d:%02d %04d", days[tm.tm_wday], months[tm.tm_mon],
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
}

/* strftime("%Y-%m-%d %H:%M:%S"), and with str(datetime)'s fraction and
 * offset when full. */
static void format_datetime(const bc_backup_time *t, bool full, char *out, size_t len)
{
    struct tm tm;
    if (!local_fields(t, &tm)) {
        snprintf(out, len, "?");
        return;
    }
    size_t n = strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm);
    if (!full)
        return;
    if (t->usec)
        n += (size_t)snprintf(out + n, len - n, ".%06d", (int)t->usec);
    int off = t->utc_offset < 0 ? -t->utc_offset : t->utc_offset;
    n += (size_t)snprintf(out + n, len - n, "%c%02d:%02d", t->utc_offset < 0 ? '-' : '+',
                          off / 3600, off / 60 % 60);
    if (off % 60)
        snprintf(out + n, len - n, ":%02d", off % 60);
}

/* ---- BackupInfo.to_json() ---- */

/* BackupInfo's fields in barman 3.x, in name order. */
static const char *const barman_fields[] = {
    "backup_label", "backup_name", "begin_offset", "begin_time", "begin_wal", "begin_xlog",
    "compression", "config_file", "copy_stats", "deduplicated_size", "end_offset", "end_time",
    "end_wal", "end_xlog", "error", "hba_file", "ident_file", "included_files", "mode",
    "pgdata", "server_name", "size", "snapshots_info", "status", "systemid", "tablespaces",
    "timeline", "version", "xlog_segment_size",
};

static bool key_in(const char *key, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(key, list[i]) == 0)
            return true;
    return false;
}

#define KEY_IN(key, ...) \
    key_in(key, (const char *const[]){__VA_ARGS__}, \
           sizeof (const char *const[]){__VA_ARGS__} / sizeof(const char *))

static bool is_none(const char *raw)
{
    return !raw || strcmp(raw, "None") == 0;
}

static json_t *tablespaces_json(const bc_backup_info *info, const char *raw)
{
    bc_tablespace *list;
    size_t count;
    if (bc_backup_info_get_tablespaces(info, &list, &count) != BC_OK)
        return json_stringn_nocheck(raw, strlen(raw));
    if (count == 0)
        return json_null(); /* barman loads an empty list as None */
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < count; i++)
        if (json_array_append_new(arr, json_pack("[s, I, s]", list[i].name,
                                                 (json_int_t)list[i].oid, list[i].location))) {
            json_decref(arr);
            arr = NULL;
        }
    bc_tablespaces_free(list, count);
    return arr;
}

/* One field as to_json() gives it; raw is NULL when the file lacks it. */
static json_t *field_json(const bc_backup_info *info, const char *key, const char *raw)
{
    int64_t number;
    bc_backup_time t;
    char text[64];
    if (!raw) { /* barman's defaults */
        if (strcmp(key, BC_BI_STATUS) == 0)
            return json_string("EMPTY");
        if (strcmp(key, BC_BI_XLOG_SEGMENT_SIZE) == 0)
            return json_integer(BC_BI_DEFAULT_XLOG_SEGMENT_SIZE);
        return json_null();
    }
    if (is_none(raw))
        return json_null();
    if (KEY_IN(key, "version", "timeline", "begin_offset", "end_offset", "size",
               "deduplicated_size", "xlog_segment_size", "cluster_size") &&
        bc_backup_info_get_int(info, key, &number) == BC_OK)
        return json_integer(number);
    if (KEY_IN(key, "begin_time", "end_time") &&
        bc_backup_info_get_time(info, key, &t) == BC_OK) {
        format_ctime(&t, text, sizeof text);
        return json_string(text);
    }
    if (strcmp(key, BC_BI_TABLESPACES) == 0)
        return tablespaces_json(info, raw);
    if (strcmp(key, BC_BI_BACKUP_LABEL) == 0) {
        /* to_dict() keeps the dumped form: repr() of the label, which is
         * the text of the file; an empty label dumps as None. */
        char *label = NULL;
        bool empty = bc_backup_info_get_backup_label(info, &label) == BC_OK && !*label;
        free(label);
        if (empty)
            return json_null();
    } else if (KEY_IN(key, "copy_stats", "included_files", "snapshots_info")) {
        json_t *v = literal_to_json(raw);
        if (v)
            return v;
    }
    return json_stringn_nocheck(raw, strlen(raw));
}

static json_t *backup_to_json(const bc_backup_info *info, const char *backup_id)
{
    const size_t nfields = sizeof barman_fields / sizeof barman_fields[0];
    size_t count = bc_backup_info_count(info), i = 0, k = 0;
    json_t *obj = json_object();
    bool ok = obj != NULL;
    /* Merge barman's fields with the file's keys, both in name order. */
    while (ok && (i < count || k < nfields)) {
        const char *key = NULL, *raw = NULL;
        if (i < count)
            bc_backup_info_entry(info, i, &key, &raw);
        int order = i >= count ? 1 : k >= nfields ? -1 : strcmp(key, barman_fields[k]);
        if (order > 0) {
            key = barman_fields[k++];
            raw = NULL;
        } else {
            i++;
            k += order == 0;
        }
        if (KEY_IN(key, "backup_name", "snapshots_info") && is_none(raw))
            continue; /* barman's _hide_if_null */
        ok = json_object_set_new(obj, key, field_json(info, key, raw)) == 0;
    }
    if (ok)
        ok = json_object_set_new(obj, "backup_id",
                                 json_stringn_nocheck(backup_id, strlen(backup_id))) == 0;
    if (!ok) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

char *bc_listing_backup_json(const bc_backup_info *info, const char *backup_id)
{
    json_t *obj = backup_to_json(info, backup_id);
    char *text = NULL;
    size_t len;
    FILE *mem = obj ? open_memstream(&text, &len) : NULL;
    if (mem) {
        write_json(mem, obj);
        if (fclose(mem) != 0) {
            free(text);
            text = NULL;
        }
    }
    json_decref(obj);
    return text;
}

static bc_status print_json(FILE *out, json_t *v)
{
    if (!v)
        return out_of_memory();
    write_json(out, v);
    putc('\n', out);
    json_decref(v);
    return BC_OK;
}

/* ---- backups: barman-cloud-backup-list ---- */

typedef struct keep_ids {
    char **ids;
    size_t n, cap, prefix_len;
} keep_ids;

static void keep_ids_free(keep_ids *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->ids[i]);
    free(k->ids);
}

static int collect_keep(void *ctx, const bc_object_info *obj)
{
    static const char suffix[] = "/annotations/keep";
    keep_ids *k = ctx;
    const char *rel = obj->key + k->prefix_len;
    size_t n = strlen(rel), sl = sizeof suffix - 1;
    if (obj->is_prefix || n <= sl || strcmp(rel + n - sl, suffix) || memchr(rel, '/', n - sl))
        return 0;
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 16;
        char **ids = realloc(k->ids, cap * sizeof *ids);
        if (!ids)
            return out_of_memory();
        k->ids = ids;
        k->cap = cap;
    }
    if (!(k->ids[k->n] = strndup(rel, n - sl)))
        return out_of_memory();
    k->n++;
    return 0;
}

/* "KEEP:FULL" from the keep annotation's first line, "" without one. One
 * listing finds the annotations, so backups without one cost nothing. */
static bc_status keep_status(bc_store *store, const char *server, const keep_ids *k,
                             const char *backup_id, char *out, size_t outlen)
{
    char key[1200];
    bc_buffer content = {.limit = 4096};
    bool annotated = false;
    out[0] = '\0';
    for (size_t i = 0; i < k->n && !annotated; i++)
        annotated = strcmp(k->ids[i], backup_id) == 0;
    if (!annotated)
        return BC_OK;
    bc_status st = bc_base_keep_key(bc_store_prefix(store), server, backup_id, key, sizeof key);
    if (st == BC_OK)
        st = bc_store_get(store, key, bc_buffer_sink, &content);
    if (st == BC_OK) {
        size_t n = 0;
        while (n < content.len && content.data[n] != '\n' && content.data[n] != '\r')
            n++;
        if (n) {
            snprintf(out, outlen, "KEEP:%.*s", (int)n, (const char *)content.data);
            for (char *c = out + 5; *c; c++)
                *c = (char)toupper((unsigned char)*c);
        }
    }
    bc_buffer_free(&content);
    return st == BC_ERR_NOTFOUND ? BC_OK : st; /* released meanwhile */
}

/* Python's "{:<width}": pads to width code points. */
static void put_padded(FILE *out, const char *s, size_t width)
{
    size_t chars = 0;
    for (const char *p = s; *p; p++)
        chars += ((unsigned char)*p & 0xC0) != 0x80;
    fputs(s, out);
    for (; chars < width; chars++)
        putc(' ', out);
}

static void put_row(FILE *out, const char *const cells[5])
{
    static const size_t widths[5] = {20, 25, 30, 17, 20};
    for (int i = 0; i < 5; i++)
        put_padded(out, cells[i], widths[i]);
    putc('\n', out);
}

static bool is_done(const bc_backup_info *info)
{
    bc_backup_status status;
    return bc_backup_info_get_status(info, &status) == BC_OK && status == BC_BACKUP_DONE;
}

static bc_status print_backup_table(bc_store *store, const char *server,
                                    const bc_catalog *catalog, FILE *out)
{
    char prefix[1024];
    keep_ids keep = {0};
    bc_status st = bc_base_dir_key(bc_store_prefix(store), server, prefix, sizeof prefix);
    keep.prefix_len = strlen(prefix);
    if (st == BC_OK && catalog->n)
        st = bc_store_list(store, prefix, NULL, collect_keep, &keep);
    put_row(out, (const char *const[]){"Backup ID", "End Time", "Begin Wal", "Archival Status",
                                       "Name"});
    for (size_t i = 0; st == BC_OK && i < catalog->n; i++) {
        const bc_catalog_entry *e = &catalog->items[i];
        char end_time[64] = "", keep_text[64];
        bc_backup_time t;
        if (!is_done(e->info))
            continue;
        if (bc_backup_info_get_time(e->info, BC_BI_END_TIME, &t) == BC_OK)
            format_datetime(&t, false, end_time, sizeof end_time);
        const char *begin_wal = bc_backup_info_get(e->info, BC_BI_BEGIN_WAL);
        const char *name = bc_backup_info_get(e->info, BC_BI_BACKUP_NAME);
        st = keep_status(store, server, &keep, e->id, keep_text, sizeof keep_text);
        if (st == BC_OK)
            put_row(out, (const char *const[]){e->id, end_time,
                                               is_none(begin_wal) ? "" : begin_wal, keep_text,
                                               is_none(name) ? "" : name});
    }
    keep_ids_free(&keep);
    return st;
}

bc_status bc_listing_backups(bc_store *store, const char *server, bc_listing_format format,
                             FILE *out)
{
    bc_catalog catalog;
    bc_status st = bc_catalog_load(store, server, &catalog);
    if (st != BC_OK)
        return st;
    if (format == BC_LISTING_CONSOLE) {
        st = print_backup_table(store, server, &catalog, out);
    } else {
        json_t *list = json_array();
        for (size_t i = 0; list && i < catalog.n; i++)
            if (json_array_append_new(list, backup_to_json(catalog.items[i].info,
                                                           catalog.items[i].id))) {
                json_decref(list);
                list = NULL;
            }
        st = print_json(out, list ? json_pack("{s:o}", "backups_list", list) : NULL);
    }
    bc_catalog_free(&catalog);
    return st;
}

/* ---- show: barman-cloud-backup-show ---- */

/* barman.utils.pretty_size(). */
static void pretty_size(double size, char *out, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB",
                                        "YiB"};
    size_t i = 0;
    while (fabs(size) >= 1024 && i + 1 < sizeof units / sizeof units[0]) {
        size /= 1024;
        i++;
    }
    if (i == 0)
        snprintf(out, len, "%lld B", (long long)size);
    else
        snprintf(out, len, "%.1f %s", size, units[i]);
}

/* barman.utils.human_readable_timedelta() of a positive duration. */
static void human_duration(double seconds, char *out, size_t len)
{
    static const char *const names[] = {"day", "hour", "minute", "second"};
    long long us = (long long)(fabs(seconds) * 1e6 + 0.5), total = us / 1000000;
    long long parts[] = {total / 86400, total % 86400 / 3600, total % 3600 / 60, total % 60};
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < 4; i++)
        if (parts[i] > 0 && n < len)
            n += (size_t)snprintf(out + n, len - n, "%s%lld %s%s", n ? ", " : "", parts[i],
                                  names[i], parts[i] == 1 ? "" : "s");
    if (us < 1000000)
        snprintf(out, len, "less than one second");
}

static const char *value_or_none(const bc_backup_info *info, const char *key)
{
    const char *raw = bc_backup_info_get(info, key);
    return raw ? raw : "None";
}

/* barman's "  {:<23}: {}" and, nested, "    {:<21}: {}". */
static void put_field(FILE *out, bool nested, const char *label, const char *value)
{
    fputs(nested ? "    " : "  ", out);
    put_padded(out, label, nested ? 21 : 23);
    fprintf(out, ": %s\n", value);
}

static void put_time_field(FILE *out, const bc_backup_info *info, const char *label,
                           const char *key)
{
    bc_backup_time t;
    char text[64];
    if (bc_backup_info_get_time(info, key, &t) == BC_OK)
        format_datetime(&t, true, text, sizeof text);
    else
        snprintf(text, sizeof text, "%s", value_or_none(info, key));
    put_field(out, true, label, text);
}

static double number_in(json_t *obj, const char *key, double fallback)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : fallback;
}

/* "Copy time" and "Estimated throughput", from copy_stats. */
static void put_copy_stats(FILE *out, const bc_backup_info *info)
{
    const char *raw = bc_backup_info_get(info, BC_BI_COPY_STATS);
    json_t *stats = is_none(raw) ? NULL : literal_to_json(raw);
    double copy_time = number_in(stats, "copy_time", 0);
    double analysis = number_in(stats, "analysis_time", 0);
    char text[160], part[64];
    int64_t size;
    if (copy_time > 0) {
        human_duration(copy_time, text, sizeof text);
        if (analysis >= 1) {
            human_duration(analysis, part, sizeof part);
            snprintf(text + strlen(text), sizeof text - strlen(text), " + %s startup", part);
        }
        put_field(out, true, "Copy time", text);
        if ((bc_backup_info_get_int(info, BC_BI_DEDUPLICATED_SIZE, &size) == BC_OK && size) ||
            bc_backup_info_get_int(info, BC_BI_SIZE, &size) == BC_OK) {
            pretty_size((double)size / copy_time, part, sizeof part);
            double workers = number_in(stats, "number_of_workers", 1);
            snprintf(text, sizeof text, workers > 1 ? "%s/s (%.0f jobs)" : "%s/s", part, workers);
            put_field(out, true, "Estimated throughput", text);
        }
    }
    json_decref(stats);
}

static void put_backup_details(FILE *out, const bc_backup_info *info)
{
    bc_tablespace *spaces = NULL;
    size_t nspaces = 0;
    char text[1200];
    int64_t size;
    if (bc_backup_info_get_tablespaces(info, &spaces, &nspaces) == BC_OK && nspaces) {
        fputs("  Tablespaces:\n", out);
        for (size_t i = 0; i < nspaces; i++) {
            snprintf(text, sizeof text, "%s (oid: %" PRIu32 ")", spaces[i].location,
                     spaces[i].oid);
            put_field(out, true, spaces[i].name, text);
        }
        fputs("\n", out);
    }
    bc_tablespaces_free(spaces, nspaces);
    fputs("  Base backup information:\n", out);
    if (bc_backup_info_get_int(info, BC_BI_SIZE, &size) == BC_OK) {
        pretty_size((double)size, text, sizeof text);
        put_field(out, true, "Disk usage", text);
    }
    put_field(out, true, "Timeline", value_or_none(info, BC_BI_TIMELINE));
    put_field(out, true, "Begin WAL", value_or_none(info, BC_BI_BEGIN_WAL));
    put_field(out, true, "End WAL", value_or_none(info, BC_BI_END_WAL));
    put_time_field(out, info, "Begin time", BC_BI_BEGIN_TIME);
    put_time_field(out, info, "End time", BC_BI_END_TIME);
    put_copy_stats(out, info);
    put_field(out, true, "Begin Offset", value_or_none(info, BC_BI_BEGIN_OFFSET));
    put_field(out, true, "End Offset", value_or_none(info, BC_BI_END_OFFSET));
    put_field(out, true, "Begin LSN", value_or_none(info, BC_BI_BEGIN_XLOG));
    put_field(out, true, "End LSN", value_or_none(info, BC_BI_END_XLOG));
    fputs("\n", out);
}

static void print_backup_block(FILE *out, const bc_backup_info *info, const char *backup_id)
{
    const char *name = bc_backup_info_get(info, BC_BI_BACKUP_NAME);
    const char *systemid = bc_backup_info_get(info, BC_BI_SYSTEMID);
    const char *error = bc_backup_info_get(info, BC_BI_ERROR);
    bc_backup_status status;
    bool copied = bc_backup_info_get_status(info, &status) == BC_OK &&
                  (status == BC_BACKUP_DONE || status == BC_BACKUP_WAITING_FOR_WALS);
    fprintf(out, "Backup %s:\n", backup_id);
    if (!is_none(name))
        put_field(out, false, "Backup Name", name);
    put_field(out, false, "Server Name", value_or_none(info, BC_BI_SERVER_NAME));
    if (!is_none(systemid) && *systemid)
        put_field(out, false, "System Id", systemid);
    put_field(out, false, "Status", bc_backup_info_get(info, BC_BI_STATUS) ?
                                        value_or_none(info, BC_BI_STATUS) : "EMPTY");
    if (copied) {
        put_field(out, false, "PostgreSQL Version", value_or_none(info, BC_BI_VERSION));
        put_field(out, false, "PGDATA directory", value_or_none(info, BC_BI_PGDATA));
        fputs("\n", out);
        put_backup_details(out, info);
    } else if (!is_none(error) && *error) {
        put_field(out, false, "Error", error);
    }
}

/* An id is read directly, as barman does; anything else needs the catalog. */
static bc_status find_backup(bc_store *store, const char *server, const char *which,
                             bc_catalog *catalog, const bc_backup_info **info,
                             const char **backup_id)
{
    char key[1200];
    memset(catalog, 0, sizeof *catalog);
    if (bc_base_backup_id_check(which) == BC_OK) {
        bc_backup_info *read = NULL;
        bc_status st = bc_base_info_key(bc_store_prefix(store), server, which, key, sizeof key);
        if (st == BC_OK)
            st = bc_catalog_read_info(store, key, &read);
        if (st == BC_ERR_NOTFOUND)
            return bc_error(st, "backup %s for server %s does not exist", which, server);
        if (st != BC_OK)
            return st;
        if (!(catalog->items = calloc(1, sizeof *catalog->items))) {
            bc_backup_info_free(read);
            return out_of_memory();
        }
        snprintf(catalog->items[0].id, sizeof catalog->items[0].id, "%s", which);
        catalog->items[0].info = read;
        catalog->n = 1;
        *info = read;
        *backup_id = catalog->items[0].id;
        return BC_OK;
    }
    const bc_catalog_entry *e;
    bc_status st = bc_catalog_load(store, server, catalog);
    if (st == BC_OK)
        st = bc_catalog_find(catalog, server, which, &e);
    if (st == BC_OK) {
        *info = e->info;
        *backup_id = e->id;
    }
    return st;
}

bc_status bc_listing_show(bc_store *store, const char *server, const char *which,
                          bc_listing_format format, FILE *out)
{
    bc_catalog catalog;
    const bc_backup_info *info = NULL;
    const char *backup_id = NULL;
    bc_status st = find_backup(store, server, which, &catalog, &info, &backup_id);
    if (st == BC_OK && format == BC_LISTING_CONSOLE) {
        print_backup_block(out, info, backup_id);
    } else if (st == BC_OK) {
        /* barman's top level: {server_name: backup}, json.dumps(None) "null" */
        const char *server_name = bc_backup_info_get(info, BC_BI_SERVER_NAME);
        json_t *backup = backup_to_json(info, backup_id);
        st = print_json(out, backup ? json_pack("{s:o}", is_none(server_name) ? "null"
                                                                            : server_name,
                                                backup)
                                    : NULL);
    }
    bc_catalog_free(&catalog);
    return st;
}

/* ---- wals: the archive per timeline ---- */

bool bc_listing_segment_size_valid(int64_t size)
{
    return size >= MIB && size <= 1024 * MIB && (size & (size - 1)) == 0;
}

/* The latest DONE backup's segment size, as the archive was written with. */
static bc_status archive_segment_size(bc_store *store, const char *server, int64_t *size)
{
    bc_catalog catalog;
    const bc_catalog_entry *latest;
    int64_t v;
    *size = BC_BI_DEFAULT_XLOG_SEGMENT_SIZE;
    bc_status st = bc_catalog_load(store, server, &catalog);
    if (st != BC_OK)
        return st;
    if (bc_catalog_find(&catalog, server, "latest", &latest) == BC_OK &&
        bc_backup_info_get_int(latest->info, BC_BI_XLOG_SEGMENT_SIZE, &v) == BC_OK) {
        if (bc_listing_segment_size_valid(v))
            *size = v;
        else
            bc_log_warning("backup %s: ignoring xlog_segment_size %" PRId64, latest->id, v);
    }
    bc_catalog_free(&catalog);
    bc_error_clear();
    return BC_OK;
}

typedef struct wal_gap {
    uint32_t tli;
    char first[25], last[25];
} wal_gap;

typedef struct wal_gaps {
    wal_gap *items;
    size_t n, cap;
    bool oom;
} wal_gaps;

static void collect_gap(void *ctx, uint32_t tli, const char *first, const char *last)
{
    wal_gaps *g = ctx;
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        wal_gap *items = realloc(g->items, cap * sizeof *items);
        if (!items) {
            g->oom = true;
            return;
        }
        g->items = items;
        g->cap = cap;
    }
    wal_gap *gap = &g->items[g->n++];
    gap->tli = tli;
    snprintf(gap->first, sizeof gap->first, "%s", first);
    snprintf(gap->last, sizeof gap->last, "%s", last);
}

typedef struct timeline {
    uint32_t tli;
    const char *first, *last, *history; /* segment names (first..last), history file */
    size_t segments, partials, labels;
} timeline;

/* Summarises the timeline starting at items[*i]: names sort by timeline
 * first, so its entries, history file included, are contiguous. */
static void next_timeline(const bc_wal_inventory *inv, size_t *i, timeline *tl)
{
    memset(tl, 0, sizeof *tl);
    tl->tli = inv->items[*i].tli;
    for (; *i < inv->n && inv->items[*i].tli == tl->tli; (*i)++) {
        const bc_wal_entry *e = &inv->items[*i];
        if (*i > 0 && strcmp(e->name, inv->items[*i - 1].name) == 0)
            continue; /* one name stored under two suffixes */
        if (e->kind == BC_WAL_HISTORY)
            tl->history = e->name;
        else if (e->kind == BC_WAL_BACKUP)
            tl->labels++;
        if (e->kind != BC_WAL_SEGMENT && e->kind != BC_WAL_PARTIAL)
            continue;
        *(e->kind == BC_WAL_SEGMENT ? &tl->segments : &tl->partials) += 1;
        tl->first = tl->first ? tl->first : e->name;
        tl->last = e->name;
    }
}

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

static void print_timeline(FILE *out, const timeline *tl, const wal_gaps *gaps)
{
    fprintf(out, "timeline %" PRIu32 ": ", tl->tli);
    if (tl->first)
        fprintf(out, "%s .. %s, %zu segment%s", tl->first, tl->last, tl->segments,
                plural(tl->segments));
    else
        fputs("no segments", out);
    if (tl->partials)
        fprintf(out, ", %zu partial%s", tl->partials, plural(tl->partials));
    if (tl->labels)
        fprintf(out, ", %zu backup label%s", tl->labels, plural(tl->labels));
    if (tl->history)
        fprintf(out, ", history %s", tl->history);
    putc('\n', out);
    for (size_t i = 0; i < gaps->n; i++)
        if (gaps->items[i].tli == tl->tli)
            fprintf(out, "  gap: %s .. %s missing\n", gaps->items[i].first,
                    gaps->items[i].last);
}

static json_t *timeline_json(const timeline *tl, const wal_gaps *gaps)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < gaps->n; i++)
        if (gaps->items[i].tli == tl->tli &&
            json_array_append_new(list, json_pack("{s:s, s:s}", "first", gaps->items[i].first,
                                                  "last", gaps->items[i].last))) {
            json_decref(list);
            list = NULL;
        }
    return json_pack("{s:I, s:s?, s:s?, s:I, s:I, s:I, s:s?, s:o?}", "timeline",
                     (json_int_t)tl->tli, "first", tl->first, "last", tl->last, "segments",
                     (json_int_t)tl->segments, "partials", (json_int_t)tl->partials,
                     "backup_labels", (json_int_t)tl->labels, "history", tl->history, "gaps",
                     list);
}

static bc_status print_wals(const char *server, int64_t segment_size,
                            const bc_wal_inventory *inv, const wal_gaps *gaps,
                            bc_listing_format format, FILE *out)
{
    timeline tl;
    if (format == BC_LISTING_CONSOLE) {
        if (inv->n == 0)
            fprintf(out, "no WAL archived for server %s\n", server);
        for (size_t i = 0; i < inv->n;) {
            next_timeline(inv, &i, &tl);
            print_timeline(out, &tl, gaps);
        }
        return BC_OK;
    }
    json_t *timelines = json_array();
    for (size_t i = 0; timelines && i < inv->n;) {
        next_timeline(inv, &i, &tl);
        if (json_array_append_new(timelines, timeline_json(&tl, gaps))) {
            json_decref(timelines);
            timelines = NULL;
        }
    }
    return print_json(out, timelines ? json_pack("{s:s, s:I, s:o, s:I}", "server_name", server,
                                                 "wal_segment_size", (json_int_t)segment_size,
                                                 "timelines", timelines, "unexpected_objects",
                                                 (json_int_t)inv->unexpected)
                                     : NULL);
}

bc_status bc_listing_wals(bc_store *store, const char *server, int64_t segment_size,
                          bc_listing_format format, FILE *out)
{
    bc_wal_inventory inv;
    wal_gaps gaps = {0};
    bc_status st = BC_OK;
    if (segment_size == 0)
        st = archive_segment_size(store, server, &segment_size);
    if (st == BC_OK)
        st = bc_wal_inventory_load(store, server, &inv);
    if (st != BC_OK)
        return st;
    if (inv.unexpected)
        bc_log_warning("%zu object%s under wals/ of server %s %s, such as %s", inv.unexpected,
                       plural(inv.unexpected), server,
                       inv.unexpected == 1 ? "is not a WAL file" : "are not WAL files",
                       inv.first_unexpected);
    bc_wal_find_gaps(&inv, (UINT64_C(1) << 32) / (uint64_t)segment_size, collect_gap, &gaps);
    st = gaps.oom ? out_of_memory() : print_wals(server, segment_size, &inv, &gaps, format, out);
    if (st == BC_OK && gaps.n)
        st = bc_error(BC_ERR_NOTFOUND, "the WAL archive of server %s has %zu gap%s", server,
                      gaps.n, plural(gaps.n));
    free(gaps.items);
    bc_wal_inventory_free(&inv);
    return st;
}

/* ---- check-empty: barman-cloud-check-wal-archive ---- */

bc_status bc_listing_check_empty(bc_store *store, const char *server, uint32_t min_timeline)
{
    bc_wal_inventory inv;
    bc_status st = bc_wal_inventory_load(store, server, &inv);
    if (st == BC_ERR_NOBUCKET) {
        /* barman: a bucket that does not exist yet is an empty archive */
        bc_log_info("%s", bc_error_msg());
        bc_error_clear();
        return BC_OK;
    }
    if (st != BC_OK)
        return st;
    size_t count = 0;
    const char *newest = NULL;
    for (size_t i = 0; i < inv.n; i++)
        if (inv.items[i].tli >= min_timeline) {
            count++;
            newest = inv.items[i].name;
        }
    if (inv.unexpected)
        st = bc_error(BC_ERR_CONFLICT,
                      "WAL archive of server %s holds %zu unexpected object%s, such as %s",
                      server, inv.unexpected, plural(inv.unexpected), inv.first_unexpected);
    else if (count && min_timeline)
        st = bc_error(BC_ERR_CONFLICT,
                      "WAL archive of server %s is not empty: %zu file%s of timeline %" PRIu32
                      " or newer, newest %s",
                      server, count, plural(count), min_timeline, newest);
    else if (count)
        st = bc_error(BC_ERR_CONFLICT,
                      "WAL archive of server %s is not empty: %zu file%s, newest %s", server,
                      count, plural(count), newest);
    bc_wal_inventory_free(&inv);
    return st;
}
