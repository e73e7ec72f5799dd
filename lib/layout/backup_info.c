#include "layout/backup_info.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buffer.h"
#include "util/pyliteral.h"

/* ---- Python's notion of white space ---- */

/* str.isspace(): barman strips keys and values with str.strip(). */
static bool py_isspace(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 ||
           c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* str.strip() of valid UTF-8: the kept span is [*from, *to). */
static void py_strip(const char *s, size_t n, size_t *from, size_t *to)
{
    size_t first = n, last = 0;
    uint32_t cp = 0;
    for (size_t i = 0; i < n;) {
        size_t k = bc_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (k == 0)
            k = 1; /* not reached: callers validate first */
        if (!py_isspace(cp)) {
            if (first == n)
                first = i;
            last = i + k;
        }
        i += k;
    }
    *from = first == n ? n : first;
    *to = first == n ? n : last;
}

/* A value barman writes and reads back unchanged: valid UTF-8, one line,
 * nothing that strip() would remove. */
static bool storable_text(const char *s)
{
    size_t n = strlen(s), from, to;
    if (!bc_utf8_valid(s, n) || memchr(s, '\n', n))
        return false;
    py_strip(s, n, &from, &to);
    return from == 0 && to == n;
}

/* ---- integers (Python's int()) and LSNs ---- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Digits with single '_' between them, as int() accepts; *end after them. */
static bool parse_digits(const char *s, uint64_t limit, uint64_t *value, const char **end)
{
    if (!is_digit(*s))
        return false;
    uint64_t v = 0;
    for (;;) {
        if (is_digit(*s)) {
            unsigned d = (unsigned)(*s++ - '0');
            if (v > (limit - d) / 10)
                return false;
            v = v * 10 + d;
        } else if (*s == '_' && is_digit(s[1])) {
            s++;
        } else {
            break;
        }
    }
    *value = v;
    *end = s;
    return true;
}

static bool parse_py_int(const char *s, int64_t *out)
{
    bool negative = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    uint64_t v;
    const char *end;
    if (!parse_digits(s, negative ? (uint64_t)INT64_MAX + 1 : INT64_MAX, &v, &end) || *end)
        return false;
    *out = negative ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return true;
}

static bool parse_hex32(const char **s, uint32_t *out)
{
    uint32_t v = 0;
    int n = 0;
    for (int d; (d = hex_value(**s)) >= 0; (*s)++) {
        if (++n > 8)
            return false;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return n > 0;
}

static bool parse_lsn(const char *s, uint64_t *lsn)
{
    uint32_t hi, lo;
    if (!parse_hex32(&s, &hi) || *s++ != '/' || !parse_hex32(&s, &lo) || *s)
        return false;
    *lsn = (uint64_t)hi << 32 | lo;
    return true;
}

/* ---- datetimes: Python's str(datetime), read as dateutil reads it ---- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Exactly n digits. */
static bool fixed_digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit((*s)[i]))
            return false;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return true;
}

/* "YYYY-MM-DD HH:MM[:SS[.ffffff]][Z|+HH[:MM[:SS]]|+HHMM]" ('T' allowed as
 * separator): every form str(datetime) writes, plus the ISO variants. */
static bool parse_time(const char *s, bc_backup_time *t)
{
    int y, mo, d, h, mi, sec = 0, usec = 0;
    if (!fixed_digits(&s, 4, &y) || *s++ != '-' || !fixed_digits(&s, 2, &mo) ||
        *s++ != '-' || !fixed_digits(&s, 2, &d) || (*s != ' ' && *s != 'T'))
        return false;
    s++;
    if (!fixed_digits(&s, 2, &h) || *s++ != ':' || !fixed_digits(&s, 2, &mi))
        return false;
    if (*s == ':') {
        s++;
        if (!fixed_digits(&s, 2, &sec))
            return false;
        if (*s == '.') {
            s++;
            if (!is_digit(*s))
                return false;
            for (int i = 0; i < 6; i++)
                usec = usec * 10 + (is_digit(*s) ? *s++ - '0' : 0);
            while (is_digit(*s)) /* dateutil drops digits past microseconds */
                s++;
        }
    }
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || sec > 59)
        return false;
    while (*s == ' ')
        s++;
    int64_t local = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    if (*s == '\0') {
        /* naive: barman makes it local time */
        struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                        .tm_min = mi, .tm_sec = sec, .tm_isdst = -1};
        time_t when = mktime(&tm);
        struct tm back;
        if (!localtime_r(&when, &back))
            return false;
        t->when = when;
        t->usec = usec;
        t->utc_offset = (int32_t)back.tm_gmtoff;
        return true;
    }
    int offset = 0;
    if (*s == 'Z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int sign = *s++ == '-' ? -1 : 1, oh, om = 0, os = 0;
        if (!fixed_digits(&s, 2, &oh))
            return false;
        if (*s == ':') {
            s++;
            if (!fixed_digits(&s, 2, &om))
                return false;
            if (*s == ':' && (s++, !fixed_digits(&s, 2, &os)))
                return false;
        } else if (is_digit(*s) && !fixed_digits(&s, 2, &om)) {
            return false;
        }
        if (oh > 23 || om > 59 || os > 59)
            return false;
        offset = sign * (oh * 3600 + om * 60 + os);
    } else {
        return false;
    }
    if (*s)
        return false;
    int64_t when = local - offset;
    if ((int64_t)(time_t)when != when)
        return false;
    t->when = (time_t)when;
    t->usec = usec;
    t->utc_offset = offset;
    return true;
}

static bool format_time(bc_buffer *out, const bc_backup_time *t)
{
    int32_t off = t->utc_offset;
    if (t->usec < 0 || t->usec > 999999 || off % 60 != 0 || off <= -86400 || off >= 86400 ||
        t->when < -62135683200 || t->when > 253402387199) /* years 1..9999, +-1 day */
        return false;
    int64_t local = (int64_t)t->when + off;
    int64_t days = local / 86400 - (local % 86400 < 0);
    int64_t secs = local - days * 86400, y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999)
        return false;
    bc_buffer_addf(out, "%04d-%02d-%02d %02d:%02d:%02d", (int)y, m, d, (int)(secs / 3600),
              (int)(secs / 60 % 60), (int)(secs % 60));
    if (t->usec)
        bc_buffer_addf(out, ".%06d", (int)t->usec);
    int a = off < 0 ? -off : off;
    bc_buffer_addf(out, "%c%02d:%02d", off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
    return true;
}

/* ---- Python string literals (ast.literal_eval in, repr() out) ---- */

/* Adds repr(s) of valid UTF-8 s. */
static void text_add_repr(bc_buffer *t, const char *s)
{
    char *r = bc_py_repr_str(s);
    if (!r) {
        t->failed = bc_oom();
        return;
    }
    bc_buffer_append(t, r, strlen(r));
    free(r);
}

/* A string literal as a C string: backup.info values are ones. */
static bool parse_py_str_dup(const char **s, char **out)
{
    return bc_py_parse_str(s, BC_PY_STR_NO_NUL, out, NULL) && *out != NULL;
}

/* ---- tablespaces: [('name', oid, 'location'), ...] ---- */

void bc_tablespaces_free(bc_tablespace *list, size_t count)
{
    for (size_t i = 0; list && i < count; i++) {
        free(list[i].name);
        free(list[i].location);
    }
    free(list);
}

/* A literal int as Python writes one: no sign, no leading zeros. */
static bool parse_oid(const char **s, uint32_t *oid)
{
    uint64_t v;
    if (**s == '0' && ((*s)[1] == '_' || is_digit((*s)[1])))
        return false;
    if (!parse_digits(*s, UINT32_MAX, &v, s))
        return false;
    *oid = (uint32_t)v;
    return true;
}

static bool parse_tablespace(const char **pp, bc_tablespace *ts)
{
    const char *s = *pp;
    char close = *s == '(' ? ')' : *s == '[' ? ']' : '\0';
    if (!close)
        return false;
    s++;
    s = bc_py_skip_space(s, false);
    if (!parse_py_str_dup(&s, &ts->name))
        return false;
    s = bc_py_skip_space(s, false);
    if (*s++ != ',')
        return false;
    s = bc_py_skip_space(s, false);
    if (!parse_oid(&s, &ts->oid))
        return false;
    s = bc_py_skip_space(s, false);
    if (*s++ != ',')
        return false;
    s = bc_py_skip_space(s, false);
    if (!parse_py_str_dup(&s, &ts->location))
        return false;
    s = bc_py_skip_space(s, false);
    if (*s == ',') {
        s++;
        s = bc_py_skip_space(s, false);
    }
    if (*s++ != close)
        return false;
    *pp = s;
    return true;
}

/* list may be NULL to only check the text. */
static bool parse_tablespaces(const char *s, bc_tablespace **list, size_t *count)
{
    bc_tablespace *items = NULL;
    size_t n = 0;
    s = bc_py_skip_space(s, false);
    char close = *s == '[' ? ']' : *s == '(' ? ')' : '\0';
    if (!close)
        return false;
    s++;
    for (;;) {
        s = bc_py_skip_space(s, false);
        if (*s == close)
            break;
        bc_tablespace *grown = realloc(items, (n + 1) * sizeof *items);
        if (!grown)
            goto fail;
        items = grown;
        memset(&items[n], 0, sizeof items[n]);
        n++;
        if (!parse_tablespace(&s, &items[n - 1]))
            goto fail;
        s = bc_py_skip_space(s, false);
        if (*s == ',')
            s++;
        else if (*s != close)
            goto fail;
    }
    s++;
    s = bc_py_skip_space(s, false);
    if (*s)
        goto fail;
    if (list) {
        *list = items;
        *count = n;
    } else {
        bc_tablespaces_free(items, n);
    }
    return true;
fail:
    bc_tablespaces_free(items, n);
    return false;
}

/* ---- the model ---- */

typedef struct entry {
    char *key;
    char *value;
} entry;

struct bc_backup_info {
    entry *entries; /* sorted by key, as barman writes them */
    size_t count, cap;
    char *backup_id;
};

static const char *const int_keys[] = {
    BC_BI_VERSION, BC_BI_TIMELINE, BC_BI_BEGIN_OFFSET, BC_BI_END_OFFSET, BC_BI_SIZE,
    BC_BI_DEDUPLICATED_SIZE, BC_BI_XLOG_SEGMENT_SIZE, "cluster_size",
};

static const char *const status_names[] = {
    [BC_BACKUP_EMPTY] = "EMPTY",
    [BC_BACKUP_STARTED] = "STARTED",
    [BC_BACKUP_FAILED] = "FAILED",
    [BC_BACKUP_WAITING_FOR_WALS] = "WAITING_FOR_WALS",
    [BC_BACKUP_DONE] = "DONE",
    [BC_BACKUP_SYNCING] = "SYNCING",
};

static bool is_int_key(const char *key)
{
    for (size_t i = 0; i < sizeof int_keys / sizeof int_keys[0]; i++)
        if (strcmp(key, int_keys[i]) == 0)
            return true;
    return false;
}

static bool is_time_key(const char *key)
{
    return strcmp(key, BC_BI_BEGIN_TIME) == 0 || strcmp(key, BC_BI_END_TIME) == 0;
}

/* Fields barman leaves out of the file while they are None. */
static bool hidden_if_none(const char *key)
{
    return strcmp(key, BC_BI_BACKUP_NAME) == 0 || strcmp(key, "snapshots_info") == 0;
}

/* A Python identifier: the only names barman's loader can set. */
static bool valid_key(const char *s, size_t n)
{
    if (n == 0 || is_digit(s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(is_digit(s[i]) || s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= 'A' && s[i] <= 'Z')))
            return false;
    return true;
}

/* Would barman's loader convert this value? (None always passes.) */
static bool valid_value(const char *key, const char *value)
{
    if (strcmp(value, "None") == 0)
        return true;
    if (is_int_key(key)) {
        int64_t v;
        return parse_py_int(value, &v);
    }
    if (is_time_key(key)) {
        bc_backup_time t;
        return parse_time(value, &t);
    }
    if (strcmp(key, BC_BI_TABLESPACES) == 0)
        return parse_tablespaces(value, NULL, NULL);
    if (strcmp(key, BC_BI_BACKUP_LABEL) == 0) {
        const char *s = value;
        return bc_py_parse_str(&s, BC_PY_STR_NO_NUL, NULL, NULL) && *s == '\0';
    }
    return true;
}

/* Index of key, or where it would go (*found false). */
static size_t find(const bc_backup_info *info, const char *key, bool *found)
{
    size_t lo = 0, hi = info->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(info->entries[mid].key, key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* Stores key=value, taking both strings (freed on failure); no checks. */
static bc_status put_owned(bc_backup_info *info, char *k, char *v)
{
    if (!k || !v) {
        free(k);
        free(v);
        return bc_oom();
    }
    bool found;
    size_t i = find(info, k, &found);
    if (found) {
        free(k);
        free(info->entries[i].value);
        info->entries[i].value = v;
        return BC_OK;
    }
    if (info->count == info->cap) {
        size_t cap = info->cap ? info->cap * 2 : 32;
        entry *grown = realloc(info->entries, cap * sizeof *grown);
        if (!grown) {
            free(k);
            free(v);
            return bc_oom();
        }
        info->entries = grown;
        info->cap = cap;
    }
    memmove(&info->entries[i + 1], &info->entries[i], (info->count - i) * sizeof(entry));
    info->entries[i] = (entry){k, v};
    info->count++;
    return BC_OK;
}

static bc_status put(bc_backup_info *info, const char *key, const char *value)
{
    return put_owned(info, strdup(key), strdup(value));
}

static bc_backup_info *alloc_info(void)
{
    bc_backup_info *info = calloc(1, sizeof *info);
    if (!info)
        bc_oom();
    return info;
}

bc_backup_info *bc_backup_info_new(void)
{
    static const char *const fields[] = {
        "backup_label", "begin_offset", "begin_time", "begin_wal", "begin_xlog",
        "compression", "config_file", "copy_stats", "deduplicated_size", "end_offset",
        "end_time", "end_wal", "end_xlog", "error", "hba_file", "ident_file",
        "included_files", "mode", "pgdata", "server_name", "size", "status", "systemid",
        "tablespaces", "timeline", "version", "xlog_segment_size",
    };
    bc_backup_info *info = alloc_info();
    if (!info)
        return NULL;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const char *value = strcmp(fields[i], BC_BI_STATUS) == 0 ? "EMPTY"
                            : strcmp(fields[i], BC_BI_XLOG_SEGMENT_SIZE) == 0 ? "16777216"
                                                                             : "None";
        if (put(info, fields[i], value) != BC_OK) {
            bc_backup_info_free(info);
            return NULL;
        }
    }
    return info;
}

void bc_backup_info_free(bc_backup_info *info)
{
    if (!info)
        return;
    for (size_t i = 0; i < info->count; i++) {
        free(info->entries[i].key);
        free(info->entries[i].value);
    }
    free(info->entries);
    free(info->backup_id);
    free(info);
}

/* One line of the file, as barman's load() reads it. */
static bc_status parse_line(bc_backup_info *info, const char *line, size_t n, size_t lineno)
{
    if (memchr(line, '\0', n))
        return bc_error(BC_ERR_DATA, "backup.info line %zu: NUL byte", lineno);
    if (!bc_utf8_valid(line, n))
        return bc_error(BC_ERR_DATA, "backup.info line %zu: not valid UTF-8", lineno);
    size_t from, to;
    py_strip(line, n, &from, &to);
    if (from == to || line[0] == '#')
        return BC_OK;
    const char *eq = memchr(line, '=', n);
    if (!eq)
        return bc_error(BC_ERR_DATA, "backup.info line %zu: no '=' in the line", lineno);
    size_t kfrom, kto, vfrom, vto;
    py_strip(line, (size_t)(eq - line), &kfrom, &kto);
    py_strip(eq + 1, n - (size_t)(eq + 1 - line), &vfrom, &vto);
    const char *key = line + kfrom;
    size_t key_len = kto - kfrom;
    if (!valid_key(key, key_len))
        return bc_error(BC_ERR_DATA, "backup.info line %zu: invalid key", lineno);
    char *k = strndup(key, key_len), *v = strndup(eq + 1 + vfrom, vto - vfrom);
    if (k && v && !valid_value(k, v)) {
        bc_status st = bc_error(BC_ERR_DATA, "backup.info line %zu: invalid %s value", lineno, k);
        free(k);
        free(v);
        return st;
    }
    return put_owned(info, k, v); /* a repeated key replaces the value, as in barman */
}

bc_status bc_backup_info_parse(const char *text_in, size_t len, bc_backup_info **out)
{
    *out = NULL;
    bc_backup_info *info = alloc_info();
    if (!info)
        return BC_ERR_INTERNAL;
    size_t pos = 0, lineno = 0;
    while (pos < len) {
        const char *line = text_in + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl != NULL);
        bc_status st = parse_line(info, line, n, ++lineno);
        if (st != BC_OK) {
            bc_backup_info_free(info);
            return st;
        }
    }
    *out = info;
    return BC_OK;
}

char *bc_backup_info_format(const bc_backup_info *info)
{
    bc_buffer t = {0};
    for (size_t i = 0; i < info->count; i++) {
        const entry *e = &info->entries[i];
        if (hidden_if_none(e->key) && strcmp(e->value, "None") == 0)
            continue;
        bc_buffer_append(&t, e->key, strlen(e->key));
        bc_buffer_addc(&t, '=');
        bc_buffer_append(&t, e->value, strlen(e->value));
        bc_buffer_addc(&t, '\n');
    }
    char *s = bc_buffer_take(&t);
    if (!s)
        bc_oom();
    return s;
}

/* ---- raw access ---- */

const char *bc_backup_info_get(const bc_backup_info *info, const char *key)
{
    bool found;
    size_t i = find(info, key, &found);
    return found ? info->entries[i].value : NULL;
}

static bc_status check_key(const char *key)
{
    if (!valid_key(key, strlen(key)))
        return bc_error(BC_ERR_USAGE, "invalid backup.info key '%s'", key);
    return BC_OK;
}

bc_status bc_backup_info_set(bc_backup_info *info, const char *key, const char *raw)
{
    bc_status st = check_key(key);
    if (st != BC_OK)
        return st;
    if (!raw)
        raw = "None";
    if (!storable_text(raw) || !valid_value(key, raw))
        return bc_error(BC_ERR_USAGE, "invalid backup.info value for %s", key);
    return put(info, key, raw);
}

void bc_backup_info_remove(bc_backup_info *info, const char *key)
{
    bool found;
    size_t i = find(info, key, &found);
    if (!found)
        return;
    free(info->entries[i].key);
    free(info->entries[i].value);
    memmove(&info->entries[i], &info->entries[i + 1], (info->count - i - 1) * sizeof(entry));
    info->count--;
}

size_t bc_backup_info_count(const bc_backup_info *info)
{
    return info->count;
}

void bc_backup_info_entry(const bc_backup_info *info, size_t i, const char **key,
                          const char **raw)
{
    *key = i < info->count ? info->entries[i].key : NULL;
    *raw = i < info->count ? info->entries[i].value : NULL;
}

/* ---- typed access ---- */

/* The value of key, or BC_ERR_NOTFOUND when absent or None. */
static bc_status value_of(const bc_backup_info *info, const char *key, const char **value)
{
    *value = bc_backup_info_get(info, key);
    if (!*value || strcmp(*value, "None") == 0)
        return bc_error(BC_ERR_NOTFOUND, "backup.info has no %s", key);
    return BC_OK;
}

static bc_status bad_value(const char *key, const char *what)
{
    return bc_error(BC_ERR_DATA, "backup.info %s is not %s", key, what);
}

/* Stores text built by a setter, or reports why it could not be built. */
static bc_status put_text(bc_backup_info *info, const char *key, bc_buffer *t)
{
    char *s = bc_buffer_take(t);
    if (!s)
        return bc_oom();
    bc_status st = bc_backup_info_set(info, key, s);
    free(s);
    return st;
}

bc_status bc_backup_info_get_str(const bc_backup_info *info, const char *key,
                                 const char **value)
{
    return value_of(info, key, value);
}

bc_status bc_backup_info_set_str(bc_backup_info *info, const char *key, const char *value)
{
    if (value && (!storable_text(value) || strcmp(value, "None") == 0))
        return bc_error(BC_ERR_USAGE,
                        "backup.info %s must be one line without surrounding spaces, "
                        "valid UTF-8 and not \"None\"", key);
    return bc_backup_info_set(info, key, value);
}

bc_status bc_backup_info_get_int(const bc_backup_info *info, const char *key, int64_t *value)
{
    const char *raw;
    if (!bc_backup_info_get(info, key) && strcmp(key, BC_BI_XLOG_SEGMENT_SIZE) == 0) {
        *value = BC_BI_DEFAULT_XLOG_SEGMENT_SIZE;
        return BC_OK;
    }
    bc_status st = value_of(info, key, &raw);
    if (st != BC_OK)
        return st;
    if (!parse_py_int(raw, value))
        return bad_value(key, "an integer");
    return BC_OK;
}

bc_status bc_backup_info_set_int(bc_backup_info *info, const char *key, int64_t value)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, value);
    return bc_backup_info_set(info, key, buf);
}

bc_status bc_backup_info_get_lsn(const bc_backup_info *info, const char *key, uint64_t *lsn)
{
    const char *raw;
    bc_status st = value_of(info, key, &raw);
    if (st != BC_OK)
        return st;
    if (!parse_lsn(raw, lsn))
        return bad_value(key, "an LSN");
    return BC_OK;
}

bc_status bc_backup_info_set_lsn(bc_backup_info *info, const char *key, uint64_t lsn)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%X/%X", (unsigned)(lsn >> 32), (unsigned)(lsn & 0xFFFFFFFF));
    return bc_backup_info_set(info, key, buf);
}

bc_status bc_backup_info_get_time(const bc_backup_info *info, const char *key,
                                  bc_backup_time *t)
{
    const char *raw;
    bc_status st = value_of(info, key, &raw);
    if (st != BC_OK)
        return st;
    if (!parse_time(raw, t))
        return bad_value(key, "a date and time");
    return BC_OK;
}

bc_status bc_backup_info_set_time(bc_backup_info *info, const char *key,
                                  const bc_backup_time *t)
{
    bc_buffer s = {0};
    if (!format_time(&s, t)) {
        bc_buffer_free(&s);
        return bc_error(BC_ERR_USAGE,
                        "backup.info %s: time out of range or UTC offset not whole minutes",
                        key);
    }
    return put_text(info, key, &s);
}

const char *bc_backup_status_name(bc_backup_status status)
{
    if ((unsigned)status >= sizeof status_names / sizeof status_names[0])
        return NULL;
    return status_names[status];
}

bc_status bc_backup_status_from_name(const char *name, bc_backup_status *status)
{
    for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++)
        if (strcmp(name, status_names[i]) == 0) {
            *status = (bc_backup_status)i;
            return BC_OK;
        }
    return bc_error(BC_ERR_DATA, "unknown backup status");
}

bc_status bc_backup_info_get_status(const bc_backup_info *info, bc_backup_status *status)
{
    const char *raw = bc_backup_info_get(info, BC_BI_STATUS);
    if (!raw) {
        *status = BC_BACKUP_EMPTY;
        return BC_OK;
    }
    bc_status st = value_of(info, BC_BI_STATUS, &raw);
    if (st != BC_OK)
        return st;
    if (bc_backup_status_from_name(raw, status) != BC_OK)
        return bad_value(BC_BI_STATUS, "a known backup status");
    return BC_OK;
}

bc_status bc_backup_info_set_status(bc_backup_info *info, bc_backup_status status)
{
    const char *name = bc_backup_status_name(status);
    if (!name)
        return bc_error(BC_ERR_USAGE, "invalid backup status %d", (int)status);
    return bc_backup_info_set(info, BC_BI_STATUS, name);
}

bc_status bc_backup_info_get_backup_label(const bc_backup_info *info, char **label)
{
    const char *raw;
    *label = NULL;
    bc_status st = value_of(info, BC_BI_BACKUP_LABEL, &raw);
    if (st != BC_OK)
        return st;
    if (!bc_py_parse_str(&raw, BC_PY_STR_NO_NUL, label, NULL) || *raw) {
        free(*label);
        *label = NULL;
        return bad_value(BC_BI_BACKUP_LABEL, "a Python string literal");
    }
    return *label ? BC_OK : bc_oom();
}

bc_status bc_backup_info_set_backup_label(bc_backup_info *info, const char *label)
{
    if (!label || !*label)
        return bc_backup_info_set(info, BC_BI_BACKUP_LABEL, NULL);
    if (!bc_utf8_valid(label, strlen(label)))
        return bc_error(BC_ERR_USAGE, "backup label is not valid UTF-8");
    bc_buffer t = {0};
    text_add_repr(&t, label);
    return put_text(info, BC_BI_BACKUP_LABEL, &t);
}

bc_status bc_backup_info_get_tablespaces(const bc_backup_info *info, bc_tablespace **list,
                                         size_t *count)
{
    *list = NULL;
    *count = 0;
    const char *raw = bc_backup_info_get(info, BC_BI_TABLESPACES);
    if (!raw || strcmp(raw, "None") == 0)
        return BC_OK;
    if (!parse_tablespaces(raw, list, count))
        return bad_value(BC_BI_TABLESPACES, "a list of (name, oid, location)");
    return BC_OK;
}

bc_status bc_backup_info_set_tablespaces(bc_backup_info *info, const bc_tablespace *list,
                                         size_t count)
{
    if (count == 0)
        return bc_backup_info_set(info, BC_BI_TABLESPACES, NULL);
    bc_buffer t = {0};
    bc_buffer_addc(&t, '[');
    for (size_t i = 0; i < count; i++) {
        if (!list[i].name || !list[i].location ||
            !bc_utf8_valid(list[i].name, strlen(list[i].name)) ||
            !bc_utf8_valid(list[i].location, strlen(list[i].location))) {
            bc_buffer_free(&t);
            return bc_error(BC_ERR_USAGE, "tablespace %zu: missing or invalid name or location", i);
        }
        bc_buffer_append(&t, i ? ", (" : "(", i ? 3 : 1);
        text_add_repr(&t, list[i].name);
        bc_buffer_addf(&t, ", %" PRIu32 ", ", list[i].oid);
        text_add_repr(&t, list[i].location);
        bc_buffer_addc(&t, ')');
    }
    bc_buffer_addc(&t, ']');
    return put_text(info, BC_BI_TABLESPACES, &t);
}

const char *bc_backup_info_backup_id(const bc_backup_info *info)
{
    return info->backup_id;
}

bc_status bc_backup_info_set_backup_id(bc_backup_info *info, const char *backup_id)
{
    char *copy = NULL;
    if (backup_id && !(copy = strdup(backup_id)))
        return bc_oom();
    free(info->backup_id);
    info->backup_id = copy;
    return BC_OK;
}
