/* The resuming pod watch shared by the bench tools (see kube.h). */
#include "kube.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct stream {
    struct kube_watch *kw;
    struct buf line;
    bool expired; /* the server answered 410 Gone: relist */
    bool failed;  /* an unparsable event or a line over the cap */
};

/* Returns false to end the stream. */
static bool handle_line(struct stream *w, const char *p, size_t n)
{
    struct kube_watch *kw = w->kw;
    if (!n) return true;
    json_error_t jerr;
    json_t *ev = json_loadb(p, n, 0, &jerr);
    if (!ev) {
        fprintf(stderr, "%s: watch: bad event: %s\n", kw->tag, jerr.text);
        w->failed = true;
        return false;
    }
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *obj = json_object_get(ev, "object");
    bool go = true;
    if (type && !strcmp(type, "ERROR")) {
        json_int_t code = json_integer_value(json_object_get(obj, "code"));
        if (code == 410) w->expired = true;
        else fprintf(stderr, "%s: watch: ERROR %lld: %s\n", kw->tag, (long long)code,
                     json_string_value(json_object_get(obj, "message")));
        w->failed = code != 410;
        go = false;
    } else if (type) {
        kw->on_event(kw->ud, type, obj, now());
    }
    json_decref(ev);
    return go;
}

static size_t on_data(char *p, size_t sz, size_t n, void *u)
{
    struct stream *w = u;
    struct kube_watch *kw = w->kw;
    size_t len = sz * n;
    if (atomic_load(kw->stop)) return 0;
    if (kw->bytes) *kw->bytes += len;
    if (w->line.len + len > kw->max_line) {
        fprintf(stderr, "%s: watch: event over %zu bytes\n", kw->tag, kw->max_line);
        w->failed = true;
        return 0;
    }
    buf_reserve(&w->line, len);
    memcpy(w->line.p + w->line.len, p, len);
    w->line.len += len;
    char *start = w->line.p, *end = w->line.p + w->line.len, *nl;
    while ((nl = memchr(start, '\n', (size_t)(end - start)))) {
        if (!handle_line(w, start, (size_t)(nl - start))) return 0;
        start = nl + 1;
    }
    w->line.len = (size_t)(end - start);
    memmove(w->line.p, start, w->line.len);
    return len;
}

static size_t on_header(char *p, size_t sz, size_t n, void *u)
{
    struct stream *w = u;
    (void)p;
    atomic_store(w->kw->watching, 1);
    return sz * n;
}

/* Polled by libcurl about once a second even on an idle stream. */
static int on_progress(void *u, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct stream *w = u;
    (void)a, (void)b, (void)c, (void)d;
    return atomic_load(w->kw->stop) ? 1 : 0;
}

void kube_watch_run(struct kube_watch *kw, CURL *c)
{
    struct stream w = {.kw = kw};
    char url[640], rv[32];
    while (c && !atomic_load(kw->stop)) {
        kw->get_rv(kw->ud, rv, sizeof rv);
        snprintf(url, sizeof url,
                 "%s?watch=1&resourceVersion=%s&allowWatchBookmarks=true&timeoutSeconds=600",
                 kw->base, rv);
        w.line.len = 0;
        w.expired = w.failed = false;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &w);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &w);
        CURLcode rc = curl_easy_perform(c);
        if (atomic_load(kw->stop)) break;
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 1L);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, NULL);
        (*kw->restarts)++;
        if (w.expired || status == 410) {
            if (kw->relist(kw->ud, c) < 0) usleep(200000);
            continue;
        }
        if (rc != CURLE_OK || status != 200 || w.failed)
            fprintf(stderr, "%s: watch ended (%s, HTTP %ld); resuming at %s\n", kw->tag,
                    curl_easy_strerror(rc), status, rv);
        usleep(100000);
    }
    free(w.line.p);
}
