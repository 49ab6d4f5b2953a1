/* Small Kubernetes helpers shared by the bench tools that drive a cluster
 * (bench_scale_load, bench_pods_load). */
#ifndef BENCH_KUBE_H
#define BENCH_KUBE_H

#include "http.h"

#include <jansson.h>
#include <stdbool.h>

void sleep_secs(double secs);
/* GET url and parse it; NULL unless HTTP 200 + JSON. *status (optional) gets the code. */
json_t *get_json(CURL *c, const char *url, long *status);
/* The node's Ready condition is True. */
bool node_ready(json_t *node);

#endif
