/* Kubernetes helpers shared by the bench tools (see kube.h). */
#include "kube.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void sleep_secs(double secs)
{
    if (secs <= 0) return;
    struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
    nanosleep(&ts, NULL);
}

json_t *get_json(CURL *c, const char *url, long *status)
{
    struct buf resp = {0};
    long st = request(c, &resp, "GET", url, NULL, 0);
    if (status) *status = st;
    json_t *doc = st == 200 ? json_loadb(resp.p, resp.len, 0, NULL) : NULL;
    free(resp.p);
    return doc;
}

bool node_ready(json_t *node)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(node, "status"), "conditions"), i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        const char *st = json_string_value(json_object_get(c, "status"));
        if (t && st && !strcmp(t, "Ready")) return !strcmp(st, "True");
    }
    return false;
}
