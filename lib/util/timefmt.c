/* Timestamps as text (see timefmt.h). */
#include "util/timefmt.h"

#include <ctype.h>
#include <string.h>

static time_t parse(const char *s, const char *format)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || !strptime(s, format, &tm))
        return 0;
    time_t t = timegm(&tm);
    return t < 0 ? 0 : t;
}

/* Two digits at p as a number, or -1. */
static int two_digits(const char *p)
{
    return isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1])
               ? (p[0] - '0') * 10 + (p[1] - '0')
               : -1;
}

time_t bc_time_from_iso8601(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = s ? strptime(s, "%Y-%m-%d", &tm) : NULL;
    if (!p || (*p != 'T' && *p != 't' && *p != ' '))
        return 0;
    if (!(p = strptime(p + 1, "%H:%M:%S", &tm)))
        return 0;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    long offset = 0;
    if (*p == '+' || *p == '-') { /* +hh, +hhmm or +hh:mm east of UTC */
        int sign = *p == '-' ? -1 : 1;
        int hh = two_digits(p + 1), mm = 0;
        if (hh < 0)
            return 0;
        p += 3;
        if (*p == ':')
            p++;
        if (isdigit((unsigned char)*p) && (mm = two_digits(p)) < 0)
            return 0;
        if (hh > 23 || mm > 59)
            return 0;
        offset = sign * (hh * 3600L + mm * 60L);
    }
    time_t t = timegm(&tm);
    return t < 0 ? 0 : t - offset;
}

time_t bc_time_from_ctime(const char *s)
{
    return parse(s, "%a %b %d %H:%M:%S %Y");
}

void bc_time_to_rfc3339(time_t t, char *out, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
