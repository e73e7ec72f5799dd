#include "util/pyliteral.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 ---- */

size_t bc_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len;
    uint32_t c, min;
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

bool bc_utf8_valid(const char *s, size_t n)
{
    uint32_t cp = 0;
    for (size_t i = 0; i < n;) {
        size_t k = bc_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

const char *bc_py_skip_space(const char *s, bool newlines)
{
    while (*s == ' ' || *s == '\t' || *s == '\f' || (newlines && (*s == '\r' || *s == '\n')))
        s++;
    return s;
}

/* ---- output, counted first and then written ----
 * Every result is built twice: once with p NULL to learn its length, then
 * into a buffer of exactly that size, so nothing here needs a growable
 * buffer and running out of memory is a single malloc's failure. */

typedef struct sink {
    char *p; /* NULL: only count */
    size_t n;
} sink;

static void put(sink *o, const char *s, size_t k)
{
    if (o->p)
        memcpy(o->p + o->n, s, k);
    o->n += k;
}

static void put_char(sink *o, char c)
{
    put(o, &c, 1);
}

/* "\xhh", "\uhhhh" or "\Uhhhhhhhh", lower-case as repr() writes them. */
static void put_hex_escape(sink *o, char letter, int width, uint32_t c)
{
    char esc[16];
    int n = snprintf(esc, sizeof esc, "\\%c%0*x", letter, width, (unsigned)c);
    put(o, esc, (size_t)n);
}

static void put_utf8(sink *o, uint32_t c)
{
    char b[4];
    if (c < 0x80) {
        b[0] = (char)c;
        put(o, b, 1);
    } else if (c < 0x800) {
        b[0] = (char)(0xC0 | c >> 6);
        b[1] = (char)(0x80 | (c & 0x3F));
        put(o, b, 2);
    } else if (c < 0x10000) {
        b[0] = (char)(0xE0 | c >> 12);
        b[1] = (char)(0x80 | (c >> 6 & 0x3F));
        b[2] = (char)(0x80 | (c & 0x3F));
        put(o, b, 3);
    } else {
        b[0] = (char)(0xF0 | c >> 18);
        b[1] = (char)(0x80 | (c >> 12 & 0x3F));
        b[2] = (char)(0x80 | (c >> 6 & 0x3F));
        b[3] = (char)(0x80 | (c & 0x3F));
        put(o, b, 4);
    }
}

/* ---- string literals (ast.literal_eval) ---- */

static bool hex_digits(const char **s, int n, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*s)[i];
        int d = c >= '0' && c <= '9' ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uint32_t)d;
    }
    *s += n;
    *out = v;
    return true;
}

/* One backslash escape of a (non-raw) literal, after the backslash; false
 * for what Python rejects and for what UTF-8 cannot hold (surrogates). */
static bool decode_escape(const char **s, unsigned flags, sink *o)
{
    static const char simple[] = "\\\\''\"\"a\ab\bf\fn\nr\rt\tv\v";
    char c = *(*s)++;
    uint32_t cp = 0;
    for (const char *e = simple; *e; e += 2)
        if (c == e[0]) {
            put(o, &e[1], 1);
            return true;
        }
    if (c == '\n')
        return true; /* line continuation */
    if (c == 'x' || c == 'u' || c == 'U') {
        if (!hex_digits(s, c == 'x' ? 2 : c == 'u' ? 4 : 8, &cp))
            return false;
    } else if (c >= '0' && c <= '7') {
        cp = (uint32_t)(c - '0');
        for (int i = 0; i < 2 && **s >= '0' && **s <= '7'; i++)
            cp = cp * 8 + (uint32_t)(*(*s)++ - '0');
    } else if (c == '\0' || c == 'N') { /* \N{name} would need the Unicode name table */
        return false;
    } else {
        (*s)--; /* unknown escapes keep their backslash */
        put_char(o, '\\');
        return true;
    }
    if ((cp == 0 && (flags & BC_PY_STR_NO_NUL)) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return false;
    put_utf8(o, cp);
    return true;
}

static bool scan_str(const char **pp, unsigned flags, sink *o)
{
    const char *s = *pp;
    bool any = false;
    for (;;) {
        const char *q = any ? bc_py_skip_space(s, flags & BC_PY_STR_JOIN_LINES) : s;
        bool raw = *q == 'r' || *q == 'R';
        if (raw || *q == 'u' || *q == 'U')
            q++;
        if (*q != '\'' && *q != '"')
            break;
        char quote = *q++;
        if (q[0] == quote && q[1] == quote)
            return false; /* triple-quoted: never written by repr() */
        while (*q != quote) {
            if (*q == '\0' || *q == '\n') {
                return false;
            } else if (*q != '\\') {
                put(o, q++, 1);
            } else if (raw) {
                /* a raw string keeps the backslash, which still protects the quote */
                if (q[1] == '\0')
                    return false;
                put(o, q, 2);
                q += 2;
            } else {
                q++;
                if (!decode_escape(&q, flags, o))
                    return false;
            }
        }
        s = q + 1;
        any = true;
    }
    *pp = s;
    return any;
}

bool bc_py_parse_str(const char **s, unsigned flags, char **out, size_t *len)
{
    const char *end = *s;
    sink count = {0};
    if (!scan_str(&end, flags, &count))
        return false;
    if (out) {
        sink value = {.p = malloc(count.n + 1)};
        if (value.p) {
            const char *again = *s;
            scan_str(&again, flags, &value);
            value.p[value.n] = '\0';
        }
        *out = value.p;
    }
    if (len)
        *len = count.n;
    *s = end;
    return true;
}

/* ---- repr(str) ---- */

/* Code points str.isprintable() rejects above ASCII (Python 3.11, Unicode
 * 14): categories Cc, Cf, Cs, Co, Zl, Zp and Zs. Unassigned code points,
 * which Python also escapes, are left as they are. */
static const uint32_t nonprintable[][2] = {
    {0x80, 0xA0}, {0xAD, 0xAD}, {0x600, 0x605}, {0x61C, 0x61C}, {0x6DD, 0x6DD},
    {0x70F, 0x70F}, {0x890, 0x891}, {0x8E2, 0x8E2}, {0x1680, 0x1680}, {0x180E, 0x180E},
    {0x2000, 0x200F}, {0x2028, 0x202F}, {0x205F, 0x2064}, {0x2066, 0x206F},
    {0x3000, 0x3000}, {0xD800, 0xF8FF}, {0xFEFF, 0xFEFF}, {0xFFF9, 0xFFFB},
    {0x110BD, 0x110BD}, {0x110CD, 0x110CD}, {0x13430, 0x13438}, {0x1BCA0, 0x1BCA3},
    {0x1D173, 0x1D17A}, {0xE0001, 0xE0001}, {0xE0020, 0xE007F}, {0xF0000, 0xFFFFD},
    {0x100000, 0x10FFFD},
};

static bool py_printable(uint32_t c)
{
    if (c < 0x80)
        return c >= 0x20 && c < 0x7F;
    for (size_t i = 0; i < sizeof nonprintable / sizeof nonprintable[0]; i++)
        if (c >= nonprintable[i][0] && c <= nonprintable[i][1])
            return false;
    return true;
}

static void repr_str(const char *s, sink *o)
{
    char quote = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
    size_t n = strlen(s);
    put_char(o, quote);
    for (size_t i = 0; i < n;) {
        uint32_t c = 0;
        size_t k = bc_utf8_decode((const unsigned char *)s + i, n - i, &c);
        if (k == 0)
            k = 1, c = 0xFFFD; /* not reached: callers validate first */
        if (c == (uint32_t)quote || c == '\\') {
            put_char(o, '\\');
            put_char(o, (char)c);
        } else if (c == '\t') {
            put(o, "\\t", 2);
        } else if (c == '\n') {
            put(o, "\\n", 2);
        } else if (c == '\r') {
            put(o, "\\r", 2);
        } else if (py_printable(c)) {
            put(o, s + i, k);
        } else if (c <= 0xFF) {
            put_hex_escape(o, 'x', 2, c);
        } else if (c <= 0xFFFF) {
            put_hex_escape(o, 'u', 4, c);
        } else {
            put_hex_escape(o, 'U', 8, c);
        }
        i += k;
    }
    put_char(o, quote);
}

char *bc_py_repr_str(const char *s)
{
    sink count = {0};
    repr_str(s, &count);
    sink value = {.p = malloc(count.n + 1)};
    if (value.p) {
        repr_str(s, &value);
        value.p[value.n] = '\0';
    }
    return value.p;
}
