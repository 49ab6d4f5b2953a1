/* HTTP and measurement helpers shared by the bench tools; see http.h. */
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    return q;
}

void buf_reserve(struct buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1) cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static size_t on_body(char *p, size_t sz, size_t n, void *u)
{
    struct buf *b = u;
    if (b->len + sz * n > MAX_BODY) return 0;
    buf_reserve(b, sz * n);
    memcpy(b->p + b->len, p, sz * n);
    b->len += sz * n;
    b->p[b->len] = 0;
    return sz * n;
}

struct curl_slist *std_headers(void)
{
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Accept: application/json");
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    return h;
}

CURL *http_client(const char *ca, const char *cert, const char *key, struct curl_slist *hdr)
{
    CURL *c = curl_easy_init();
    if (!c) return NULL;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    if (ca) {
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
        /* Only that CA: the default CA directory would be parsed at every
         * connection, CPU the load tool takes from the server under test. */
        curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
        curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY, key);
        /* The serving cert names 127.0.0.1; keep verification on. */
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    }
    return c;
}

long request(CURL *c, struct buf *resp, const char *method, const char *url, const char *body,
             size_t blen)
{
    resp->len = 0;
    buf_reserve(resp, 0);
    resp->p[0] = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") ? method : NULL);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        resp->len = 0;
        buf_printf(resp, "curl: %s", curl_easy_strerror(rc));
        return -1;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

bool json_field(const char *json, const char *field, char *out, size_t outlen)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", field);
    const char *p = json ? strstr(json, pat) : NULL;
    if (!p) return false;
    p += strlen(pat);
    const char *e = strchr(p, '"');
    if (!e || (size_t)(e - p) >= outlen) return false;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = 0;
    return true;
}

/* On a small machine the client competes with the server for cores, so the
 * tools report how many each side used. */
double self_cpu_secs(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* From /proc/PID/stat utime + stime. */
double proc_cpu_secs(long pid)
{
    char path[64], line[1024];
    if (pid <= 0) return 0;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    /* comm may hold spaces and parentheses; fields resume after the last ')'. */
    char *p = strrchr(line, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The first line of /proc/stat: user nice system idle iowait irq softirq
 * steal ...; busy is everything but idle and iowait (steal counted: time
 * the machine's work did not get is part of what a batch cost). */
double machine_busy_secs(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return 0;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &v[6], &v[7]);
    fclose(f);
    if (n < 4) return 0;
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double pct(const double *sorted, size_t n, double p)
{
    if (!n) return 0;
    size_t i = (size_t)(p * (double)n);
    return sorted[i >= n ? n - 1 : i];
}
