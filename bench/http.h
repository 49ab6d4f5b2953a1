/* HTTP and measurement helpers shared by the bench tools (bench_api_load,
 * bench_scale_load): one keep-alive libcurl handle per thread, bodies in a
 * growable buffer, CPU accounting of this process and of the server. */
#ifndef BENCH_HTTP_H
#define BENCH_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#define MAX_BODY (256u << 20) /* cap on one response body (a full list) */

struct buf {
    char *p;
    size_t len, cap;
};

double now(void); /* CLOCK_MONOTONIC seconds */
void *xrealloc(void *p, size_t n); /* exits on OOM: a bench tool has no way on */
void buf_reserve(struct buf *b, size_t extra);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct curl_slist *std_headers(void);
/* A keep-alive HTTP/1.1 handle. With ca set it verifies the server against
 * it and presents cert/key (skiff's client-certificate auth). */
CURL *http_client(const char *ca, const char *cert, const char *key, struct curl_slist *hdr);
/* One request; the body lands in resp. Returns the HTTP status, or -1 on a
 * transport error (message in resp). */
long request(CURL *c, struct buf *resp, const char *method, const char *url, const char *body,
             size_t blen);
/* Copies the first "field":"value" string value found in json to out. */
bool json_field(const char *json, const char *field, char *out, size_t outlen);
double self_cpu_secs(void);        /* user+system CPU of this process */
double proc_cpu_secs(long pid);    /* of process pid, 0 when unknown */
double machine_busy_secs(void);    /* CPU seconds all CPUs spent not idle, from /proc/stat */
int cmp_double(const void *a, const void *b);
double pct(const double *sorted, size_t n, double p); /* p in [0,1] */

#endif
