#include "util/pyjson.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/pyliteral.h"

/* ---- json.dumps() ---- */

/* ensure_ascii: printable ASCII as is, the rest as lower-case \uXXXX. */
static void write_json_string(FILE *out, const char *s, size_t n)
{
    putc('"', out);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = bc_utf8_decode((const unsigned char *)s + i, n - i, &cp);
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

void bc_pyjson_write(FILE *out, json_t *v)
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
            bc_pyjson_write(out, item);
        }
        putc('}', out);
        break;
    case JSON_ARRAY:
        putc('[', out);
        json_array_foreach(v, i, item) {
            fputs(i ? ", " : "", out);
            bc_pyjson_write(out, item);
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
 * barman's copy_stats, included_files and snapshots_info hold repr() of
 * dicts and lists. Line breaks count as blanks throughout, as they do
 * inside brackets. */

typedef struct literal {
    const char *p;
    int depth;
} literal;

static json_t *literal_value(literal *l);

static void literal_skip(literal *l)
{
    l->p = bc_py_skip_space(l->p, true);
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

/* One string literal or several adjacent ones (Python joins them); the
 * value may hold NUL, which JSON writes as \u0000. */
static json_t *literal_string(literal *l)
{
    char *s;
    size_t n;
    if (!bc_py_parse_str(&l->p, BC_PY_STR_JOIN_LINES, &s, &n) || !s)
        return NULL;
    json_t *v = json_stringn(s, n);
    free(s);
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

json_t *bc_pyjson_from_literal(const char *text)
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
