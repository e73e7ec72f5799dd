#include "store/http/xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum markup {
    MARK_OPEN,    /* <name ...> */
    MARK_CLOSE,   /* </name> */
    MARK_EMPTY,   /* <name .../> */
    MARK_OTHER,   /* <?...?>, <!--...-->, <![CDATA[...]]>, <!...> */
    MARK_BAD      /* unterminated or malformed */
};

typedef struct tag {
    enum markup kind;
    size_t name_at, name_len;
    size_t end;               /* offset just past the closing '>' */
} tag;

static int starts_with(const char *p, size_t len, size_t i, const char *lit)
{
    size_t n = strlen(lit);
    return i <= len && len - i >= n && memcmp(p + i, lit, n) == 0;
}

/* Offset just past the first `lit` at or after i, or 0 if absent. */
static size_t skip_past(const char *p, size_t len, size_t i, const char *lit)
{
    size_t n = strlen(lit);
    while (i <= len && len - i >= n) {
        if (memcmp(p + i, lit, n) == 0)
            return i + n;
        i++;
    }
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int ends_name(char c)
{
    return is_space(c) || c == '/' || c == '>' || c == '<' || c == '=';
}

/* Scans the markup starting at p[i] == '<'. */
static tag scan_tag(const char *p, size_t len, size_t i)
{
    tag t = { MARK_BAD, 0, 0, 0 };
    size_t j;

    if (starts_with(p, len, i, "<?")) {
        t.end = skip_past(p, len, i + 2, "?>");
        t.kind = t.end ? MARK_OTHER : MARK_BAD;
        return t;
    }
    if (starts_with(p, len, i, "<!--")) {
        t.end = skip_past(p, len, i + 4, "-->");
        t.kind = t.end ? MARK_OTHER : MARK_BAD;
        return t;
    }
    if (starts_with(p, len, i, "<![CDATA[")) {
        t.end = skip_past(p, len, i + 9, "]]>");
        t.kind = t.end ? MARK_OTHER : MARK_BAD;
        return t;
    }
    if (starts_with(p, len, i, "<!")) {
        t.end = skip_past(p, len, i + 2, ">");
        t.kind = t.end ? MARK_OTHER : MARK_BAD;
        return t;
    }

    int closing = starts_with(p, len, i, "</");
    j = i + (closing ? 2 : 1);
    t.name_at = j;
    while (j < len && !ends_name(p[j]))
        j++;
    t.name_len = j - t.name_at;
    if (t.name_len == 0 || j >= len)
        return t;

    /* Attributes (or spaces before '>'), honouring quoted values. */
    char quote = 0;
    for (; j < len; j++) {
        char c = p[j];
        if (quote) {
            if (c == quote)
                quote = 0;
        } else if (c == '"' || c == '\'') {
            if (closing)
                return t;
            quote = c;
        } else if (c == '<') {
            return t;
        } else if (c == '>') {
            break;
        }
    }
    if (j >= len)
        return t;
    t.end = j + 1;
    if (closing)
        t.kind = MARK_CLOSE;
    else if (p[j - 1] == '/')
        t.kind = MARK_EMPTY;
    else
        t.kind = MARK_OPEN;
    return t;
}

static int name_is(const char *p, const tag *t, const char *name, size_t name_len)
{
    return t->name_len == name_len && memcmp(p + t->name_at, name, name_len) == 0;
}

int bc_xml_next(bc_xml_span in, size_t *pos, const char *name, bc_xml_span *inner)
{
    const char *p = in.p;
    size_t len = in.len, i = *pos, name_len = strlen(name);

    if (!p || name_len == 0)
        return 0;
    while (i < len) {
        const char *lt = memchr(p + i, '<', len - i);
        if (!lt)
            return 0;
        size_t at = (size_t)(lt - p);
        tag t = scan_tag(p, len, at);
        if (t.kind == MARK_BAD)
            return 0;
        if ((t.kind == MARK_OPEN || t.kind == MARK_EMPTY) && name_is(p, &t, name, name_len)) {
            if (t.kind == MARK_EMPTY) {
                inner->p = p + t.end;
                inner->len = 0;
                *pos = t.end;
                return 1;
            }
            /* Find the matching end tag, counting same-name nesting. */
            size_t start = t.end, j = t.end;
            int depth = 1;
            while (j < len) {
                const char *lt2 = memchr(p + j, '<', len - j);
                if (!lt2)
                    return 0;
                size_t at2 = (size_t)(lt2 - p);
                tag u = scan_tag(p, len, at2);
                if (u.kind == MARK_BAD)
                    return 0;
                if (u.kind == MARK_OPEN && name_is(p, &u, name, name_len)) {
                    depth++;
                } else if (u.kind == MARK_CLOSE && name_is(p, &u, name, name_len)) {
                    if (--depth == 0) {
                        inner->p = p + start;
                        inner->len = at2 - start;
                        *pos = u.end;
                        return 1;
                    }
                }
                j = u.end;
            }
            return 0;
        }
        i = t.end;
    }
    return 0;
}

int bc_xml_find(bc_xml_span in, const char *name, bc_xml_span *inner)
{
    size_t pos = 0;
    return bc_xml_next(in, &pos, name, inner);
}

/* Appends the UTF-8 encoding of cp; -1 if it does not fit. */
static int put_utf8(uint32_t cp, char *out, size_t outlen, size_t *o)
{
    unsigned char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (outlen - *o <= n) /* keep room for the NUL */
        return -1;
    memcpy(out + *o, b, n);
    *o += n;
    return 0;
}

/* Decodes the entity whose text (between '&' and ';') is e[0..n). */
static int decode_entity(const char *e, size_t n, uint32_t *cp)
{
    static const struct { const char *name; char c; } named[] = {
        { "lt", '<' }, { "gt", '>' }, { "amp", '&' }, { "quot", '"' }, { "apos", '\'' },
    };
    for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
        if (strlen(named[k].name) == n && memcmp(e, named[k].name, n) == 0) {
            *cp = (uint32_t)named[k].c;
            return 0;
        }
    }
    if (n < 2 || e[0] != '#')
        return -1;
    uint32_t v = 0;
    size_t k = 1;
    int hex = e[1] == 'x';
    if (hex)
        k = 2;
    if (k >= n)
        return -1;
    for (; k < n; k++) {
        char c = e[k];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (hex && c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (hex && c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * (hex ? 16u : 10u) + (uint32_t)d;
        if (v > 0x10FFFF)
            return -1;
    }
    if (v == 0 || (v >= 0xD800 && v <= 0xDFFF))
        return -1;
    *cp = v;
    return 0;
}

ssize_t bc_xml_text(bc_xml_span s, char *out, size_t outlen)
{
    size_t i = 0, o = 0;
    if (outlen == 0)
        return -1;
    out[0] = '\0';
    if (!s.p)
        return -1;
    while (i < s.len) {
        char c = s.p[i];
        if (c == '&') {
            /* Entities are short: look for ';' within a few bytes only. */
            size_t j = i + 1;
            while (j < s.len && j - i <= 12 && s.p[j] != ';')
                j++;
            uint32_t cp;
            if (j >= s.len || s.p[j] != ';' || decode_entity(s.p + i + 1, j - i - 1, &cp) < 0)
                goto bad;
            if (put_utf8(cp, out, outlen, &o) < 0)
                goto bad;
            i = j + 1;
        } else if (c == '<') {
            if (!starts_with(s.p, s.len, i, "<![CDATA["))
                goto bad;
            size_t end = skip_past(s.p, s.len, i + 9, "]]>");
            if (!end)
                goto bad;
            size_t n = end - 3 - (i + 9);
            if (outlen - o <= n)
                goto bad;
            memcpy(out + o, s.p + i + 9, n);
            o += n;
            i = end;
        } else {
            if (c == '\0' || outlen - o <= 1)
                goto bad;
            out[o++] = c;
            i++;
        }
    }
    out[o] = '\0';
    return (ssize_t)o;
bad:
    out[0] = '\0';
    return -1;
}

char *bc_xml_text_dup(bc_xml_span s)
{
    /* Decoding never grows the text (an entity of n bytes yields at most
     * 4 bytes of UTF-8 and takes at least 4 bytes, "&lt;"), so len + 1 is
     * always enough. */
    char *out = malloc(s.len + 1);
    if (!out)
        return NULL;
    if (bc_xml_text(s, out, s.len + 1) < 0) {
        free(out);
        return NULL;
    }
    return out;
}

ssize_t bc_xml_child_text(bc_xml_span in, const char *name, char *out, size_t outlen)
{
    bc_xml_span inner;
    if (outlen > 0)
        out[0] = '\0';
    if (!bc_xml_find(in, name, &inner))
        return -1;
    return bc_xml_text(inner, out, outlen);
}

char *bc_xml_escape(const char *s)
{
    size_t n = 0;
    for (const char *q = s; *q; q++) {
        switch (*q) {
        case '&': n += 5; break;
        case '<': case '>': n += 4; break;
        case '"': case '\'': n += 6; break;
        default: n++;
        }
    }
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *q = s; *q; q++) {
        const char *rep = NULL;
        switch (*q) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        }
        if (rep) {
            size_t k = strlen(rep);
            memcpy(o, rep, k);
            o += k;
        } else {
            *o++ = *q;
        }
    }
    *o = '\0';
    return out;
}

void bc_xml_error_reply(const char *body, size_t len, char *code, size_t codelen,
                        char *message, size_t messagelen)
{
    code[0] = message[0] = '\0';
    bc_xml_span doc = {body, len}, err;
    if (!body || !bc_xml_find(doc, "Error", &err))
        return;
    if (bc_xml_child_text(err, "Code", code, codelen) < 0)
        code[0] = '\0';
    if (bc_xml_child_text(err, "Message", message, messagelen) < 0)
        message[0] = '\0';
}
