/* One-line logging to stderr: time, level, component tag, message. */
#include "lib.h"

#include <stdio.h>
#include <time.h>

int sk_log_level = SK_INFO;

void sk_log_write(enum sk_level lvl, const char *tag, const char *fmt, ...)
{
    static const char lv[] = "DIWE";
    char line[1024];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%c%02d%02d %02d:%02d:%02d.%03ld %s: ", lv[lvl & 3],
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, tag);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
