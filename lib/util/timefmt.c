/* Timestamps as text (see timefmt.h). */
#include "util/timefmt.h"

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

time_t bc_time_from_iso8601(const char *s)
{
    return parse(s, "%Y-%m-%dT%H:%M:%S");
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
