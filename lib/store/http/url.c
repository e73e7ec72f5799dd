#include "store/http/url.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

char *bc_url_encode(const char *s, int keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = digits[c >> 4];
            *o++ = digits[c & 15];
        }
    }
    *o = '\0';
    return out;
}

static void add_encoded(bc_buffer *b, const char *s, int plus)
{
    char *enc = bc_url_encode(s, 0);
    if (!enc) {
        if (!b->failed)
            b->failed = bc_oom();
        return;
    }
    for (const char *p = enc; *p; p++) {
        if (plus && p[0] == '%' && p[1] == '2' && p[2] == '0') {
            bc_buffer_addc(b, '+');
            p += 2;
        } else {
            bc_buffer_addc(b, *p);
        }
    }
    free(enc);
}

void bc_url_add_pairs(bc_buffer *b, char first, const bc_tag *pairs, size_t n, int plus)
{
    int written = 0;
    for (size_t i = 0; i < n; i++) {
        if (!pairs[i].value)
            continue;
        if (written || first)
            bc_buffer_addc(b, written ? '&' : first);
        add_encoded(b, pairs[i].key ? pairs[i].key : "", plus);
        bc_buffer_addc(b, '=');
        add_encoded(b, pairs[i].value, plus);
        written = 1;
    }
}
