/* Routing of resource paths, API discovery (aggregated v2 and legacy) and
 * OpenAPI v3. */
#include "apiserver/apiserver_int.h"

#include <stdio.h>
#include <string.h>

#define MAX_SEGS 16

static int split_path(char *path, char **segs)
{
    int n = 0;
    for (char *p = path; *p && n < MAX_SEGS;) {
        while (*p == '/') p++;
        if (!*p) break;
        segs[n++] = p;
        char *sl = strchr(p, '/');
        if (!sl) break;
        *sl = 0;
        p = sl + 1;
    }
    return n;
}

static bool copy_seg(char *dst, size_t n, const char *src)
{
    if (strlen(src) >= n) return false;
    memcpy(dst, src, strlen(src) + 1);
    return true;
}

/* Returns 0 for a resource route, 1 for a group-version root (g/v set),
 * -1 when not an API path. */
int sk_route_parse(const char *url, struct sk_route *rt, char **gv_group, char **gv_version)
{
    memset(rt, 0, sizeof *rt);
    _sk_free_ char *path = sk_strdup(url);
    /* The rest of a proxy path keeps its slashes: remember where it starts. */
    char *segs[MAX_SEGS];
    int n = split_path(path, segs);
    const char *group, *version;
    int i;
    if (n >= 2 && !strcmp(segs[0], "api")) {
        group = "";
        version = segs[1];
        i = 2;
    } else if (n >= 3 && !strcmp(segs[0], "apis")) {
        group = segs[1];
        version = segs[2];
        i = 3;
    } else {
        return -1;
    }
    if (i == n) {
        *gv_group = sk_strdup(group);
        *gv_version = sk_strdup(version);
        return 1;
    }
    const struct sk_resource *r = NULL;
    if (!strcmp(segs[i], "namespaces") && n - i >= 3) {
        const struct sk_resource *nr = sk_resource_find(group, version, segs[i + 2]);
        if (nr && nr->namespaced) {
            if (!copy_seg(rt->ns, sizeof rt->ns, segs[i + 1])) return -1;
            rt->has_ns = true;
            r = nr;
            i += 2;
        }
    }
    if (!r) r = sk_resource_find(group, version, segs[i]);
    if (!r) return -1;
    rt->res = r;
    rt->group = r->group;
    rt->version = r->version;
    i++;
    if (i < n) {
        if (!copy_seg(rt->name, sizeof rt->name, segs[i])) return -1;
        rt->has_name = true;
        i++;
    }
    if (i < n) {
        if (!copy_seg(rt->sub, sizeof rt->sub, segs[i])) return -1;
        /* proxy-style subresources: the rest of the url after the
         * subresource segment, slashes kept ("" or "/..."). */
        rt->rest = url + (segs[i] - path) + strlen(rt->sub);
        i++;
    }
    return 0;
}

/* ---- discovery ------------------------------------------------------------ */

static json_t *verbs_json(unsigned v)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        {SK_V_CREATE, "create"}, {SK_V_DELETE, "delete"}, {SK_V_DELETECOLLECTION, "deletecollection"},
        {SK_V_GET, "get"}, {SK_V_LIST, "list"}, {SK_V_PATCH, "patch"}, {SK_V_UPDATE, "update"},
        {SK_V_WATCH, "watch"},
    };
    json_t *a = json_array();
    for (size_t i = 0; i < SK_ARRAY_LEN(names); i++)
        if (v & names[i].bit) json_array_append_new(a, json_string(names[i].name));
    return a;
}

static json_t *strlist(const char *const *l, size_t max)
{
    json_t *a = json_array();
    for (size_t i = 0; i < max && l[i]; i++) json_array_append_new(a, json_string(l[i]));
    return a;
}

/* Upstream's connect verbs for proxies (GET POST PUT PATCH DELETE ...). */
#define SK_V_PROXY (SK_V_CREATE | SK_V_DELETE | SK_V_GET | SK_V_PATCH | SK_V_UPDATE)

struct subres_info {
    unsigned bit;
    const char *name;
    const char *group, *version, *kind;
    unsigned verbs;
};

static const struct subres_info subres_table[] = {
    {SK_SUB_STATUS, "status", NULL, NULL, NULL, SK_V_GET | SK_V_PATCH | SK_V_UPDATE},
    {SK_SUB_SCALE, "scale", "autoscaling", "v1", "Scale", SK_V_GET | SK_V_PATCH | SK_V_UPDATE},
    {SK_SUB_EXEC, "exec", "", "v1", "PodExecOptions", SK_V_CREATE | SK_V_GET},
    {SK_SUB_EXEC, "attach", "", "v1", "PodAttachOptions", SK_V_CREATE | SK_V_GET},
    {SK_SUB_EXEC, "log", "", "v1", "Pod", SK_V_GET},
    {SK_SUB_EXEC, "portforward", "", "v1", "PodPortForwardOptions", SK_V_CREATE | SK_V_GET},
    {SK_SUB_EXEC, "proxy", "", "v1", "PodProxyOptions", SK_V_PROXY},
    {SK_SUB_EXEC, "binding", "", "v1", "Binding", SK_V_CREATE},
    {SK_SUB_EXEC, "eviction", "policy", "v1", "Eviction", SK_V_CREATE},
    {SK_SUB_PROXY, "proxy", "", "v1", "ProxyOptions", SK_V_PROXY}, /* Node/ServiceProxyOptions */
};

/* Response kind of a subresource; services/proxy and nodes/proxy share
 * a table row and differ only by the parent's kind. */
static const char *subres_kind(const struct subres_info *si, const struct sk_resource *r,
                               char *buf, size_t n)
{
    if (si->bit == SK_SUB_PROXY) {
        snprintf(buf, n, "%s%s", r->kind, si->kind);
        return buf;
    }
    return si->kind ? si->kind : r->kind;
}

static json_t *gv_resources_aggregated(const char *group, const char *version)
{
    size_t n;
    const struct sk_resource *const *all = sk_resources(&n);
    json_t *res = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct sk_resource *r = all[i];
        if (strcmp(r->group, group) || strcmp(r->version, version)) continue;
        json_t *e = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:s,s:o}", "resource", r->plural,
                              "singularResource", r->singular, "responseKind", "group", r->group,
                              "version", r->version, "kind", r->kind, "scope",
                              r->namespaced ? "Namespaced" : "Cluster", "verbs", verbs_json(r->verbs));
        if (r->short_names[0]) json_object_set_new(e, "shortNames", strlist(r->short_names, 4));
        if (r->categories[0]) json_object_set_new(e, "categories", strlist(r->categories, 3));
        json_t *subs = json_array();
        for (size_t k = 0; k < SK_ARRAY_LEN(subres_table); k++) {
            const struct subres_info *si = &subres_table[k];
            if (!(r->subresources & si->bit)) continue;
            json_t *s = json_pack("{s:s,s:o}", "subresource", si->name, "verbs", verbs_json(si->verbs));
            char kb[96];
            json_object_set_new(s, "responseKind",
                                json_pack("{s:s,s:s,s:s}", "group", si->group ? si->group : r->group,
                                          "version", si->version ? si->version : r->version,
                                          "kind", subres_kind(si, r, kb, sizeof kb)));
            json_array_append_new(subs, s);
        }
        if (json_array_size(subs)) json_object_set_new(e, "subresources", subs);
        else json_decref(subs);
        json_array_append_new(res, e);
    }
    return res;
}

static json_t *gv_resources_legacy(const char *group, const char *version, bool *found)
{
    size_t n;
    const struct sk_resource *const *all = sk_resources(&n);
    json_t *res = json_array();
    *found = false;
    for (size_t i = 0; i < n; i++) {
        const struct sk_resource *r = all[i];
        if (strcmp(r->group, group) || strcmp(r->version, version)) continue;
        *found = true;
        json_t *e = json_pack("{s:s,s:s,s:b,s:s,s:o}", "name", r->plural, "singularName",
                              r->singular, "namespaced", r->namespaced, "kind", r->kind, "verbs",
                              verbs_json(r->verbs));
        if (r->short_names[0]) json_object_set_new(e, "shortNames", strlist(r->short_names, 4));
        if (r->categories[0]) json_object_set_new(e, "categories", strlist(r->categories, 3));
        json_array_append_new(res, e);
        for (size_t k = 0; k < SK_ARRAY_LEN(subres_table); k++) {
            const struct subres_info *si = &subres_table[k];
            if (!(r->subresources & si->bit)) continue;
            _sk_free_ char *name = sk_printf("%s/%s", r->plural, si->name);
            char kb[96];
            json_t *s = json_pack("{s:s,s:s,s:b,s:s,s:o}", "name", name, "singularName", "",
                                  "namespaced", r->namespaced, "kind",
                                  subres_kind(si, r, kb, sizeof kb), "verbs", verbs_json(si->verbs));
            if (si->group && strcmp(si->group, r->group)) {
                json_object_set_new(s, "group", json_string(si->group));
                json_object_set_new(s, "version", json_string(si->version));
            }
            json_array_append_new(res, s);
        }
    }
    return res;
}

static const char *group_version(const char *g)
{
    size_t n;
    const struct sk_resource *const *all = sk_resources(&n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(all[i]->group, g)) return all[i]->version;
    return "v1";
}

static bool wants_aggregated(struct sk_req *q)
{
    const char *a = sk_req_header(q, "Accept");
    return a && strstr(a, "as=APIGroupDiscoveryList") && strstr(a, "v=v2");
}

static void reply_aggregated(struct sk_req *q, bool core)
{
    json_t *items = json_array();
    const char *const *groups = sk_groups();
    for (size_t i = 0; groups[i]; i++) {
        const char *g = groups[i];
        if (core != !g[0]) continue;
        const char *v = group_version(g);
        json_t *ver = json_pack("{s:s,s:o,s:s}", "version", v, "resources",
                                gv_resources_aggregated(g, v), "freshness", "Current");
        json_t *item = json_pack("{s:{},s:[o]}", "metadata", "versions", ver);
        if (g[0]) json_object_set_new(json_object_get(item, "metadata"), "name", json_string(g));
        json_array_append_new(items, item);
    }
    json_t *doc = json_pack("{s:s,s:s,s:{},s:o}", "kind", "APIGroupDiscoveryList", "apiVersion",
                            "apidiscovery.k8s.io/v2", "metadata", "items", items);
    sk_reply_json_ct(q, 200, doc, "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
    MHD_add_response_header(q->resp, "Vary", "Accept");
}

static void handle_openapi(struct sk_req *q, const char *url)
{
    if (!strncmp(url, "/openapi/v3", 11) && (url[11] == 0 || url[11] == '?')) {
        json_t *idx = sk_openapi_v3_index();
        if (!idx) {
            sk_reply_status(q, SK_ENOTFOUND, "the server could not find the requested resource");
            return;
        }
        sk_reply_json(q, 200, idx); /* serialises and drops our reference; never modified */
        return;
    }
    if (!strncmp(url, "/openapi/v3/", 12)) {
        _sk_free_ char *gv = sk_strdup(url + 12);
        char *qm = strchr(gv, '?');
        if (qm) *qm = 0;
        json_t *doc = sk_openapi_v3_doc(gv);
        if (!doc) {
            sk_reply_status(q, SK_ENOTFOUND, "the server could not find the requested resource");
            return;
        }
        char *s = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        if (q->resp) MHD_destroy_response(q->resp);
        q->resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(q->resp, "Content-Type", "application/json");
        q->status = 200;
        return;
    }
    sk_reply_status(q, SK_ENOTFOUND, "the server could not find the requested resource");
}

void sk_handle_discovery(struct sk_req *q, const char *url)
{
    if (!strncmp(url, "/openapi/", 9)) {
        handle_openapi(q, url);
        return;
    }
    if (!strcmp(url, "/")) {
        json_t *paths = json_pack("[s,s,s,s,s,s,s]", "/api", "/api/v1", "/apis", "/healthz",
                                  "/livez", "/openapi/v3", "/readyz");
        sk_reply_json(q, 200, json_pack("{s:o}", "paths", paths));
        return;
    }
    if (!strcmp(url, "/api")) {
        if (wants_aggregated(q)) {
            reply_aggregated(q, true);
            return;
        }
        sk_reply_json(q, 200,
                      json_pack("{s:s,s:[s],s:[{s:s,s:s}]}", "kind", "APIVersions", "versions",
                                "v1", "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0",
                                "serverAddress", q->srv->server_address));
        return;
    }
    if (!strcmp(url, "/apis")) {
        if (wants_aggregated(q)) {
            reply_aggregated(q, false);
            return;
        }
        json_t *groups = json_array();
        const char *const *gs = sk_groups();
        for (size_t i = 0; gs[i]; i++) {
            if (!gs[i][0]) continue;
            const char *v = group_version(gs[i]);
            _sk_free_ char *gv = sk_printf("%s/%s", gs[i], v);
            json_array_append_new(groups, json_pack("{s:s,s:[{s:s,s:s}],s:{s:s,s:s}}", "name", gs[i],
                                                    "versions", "groupVersion", gv, "version", v,
                                                    "preferredVersion", "groupVersion", gv,
                                                    "version", v));
        }
        sk_reply_json(q, 200, json_pack("{s:s,s:s,s:o}", "kind", "APIGroupList", "apiVersion", "v1",
                                        "groups", groups));
        return;
    }
    /* /api/v1 or /apis/G/V */
    _sk_free_ char *path = sk_strdup(url);
    char *segs[MAX_SEGS];
    int n = split_path(path, segs);
    const char *g = NULL, *v = NULL;
    if (n == 2 && !strcmp(segs[0], "api")) { g = ""; v = segs[1]; }
    else if (n == 3 && !strcmp(segs[0], "apis")) { g = segs[1]; v = segs[2]; }
    else if (n == 2 && !strcmp(segs[0], "apis")) {
        const char *const *gs = sk_groups();
        for (size_t i = 0; gs[i]; i++) {
            if (strcmp(gs[i], segs[1])) continue;
            const char *ver = group_version(gs[i]);
            _sk_free_ char *gv = sk_printf("%s/%s", gs[i], ver);
            sk_reply_json(q, 200, json_pack("{s:s,s:s,s:s,s:[{s:s,s:s}],s:{s:s,s:s}}", "kind",
                                            "APIGroup", "apiVersion", "v1", "name", gs[i],
                                            "versions", "groupVersion", gv, "version", ver,
                                            "preferredVersion", "groupVersion", gv, "version", ver));
            return;
        }
    }
    if (g && v) {
        bool found;
        json_t *res = gv_resources_legacy(g, v, &found);
        if (found) {
            _sk_free_ char *gv = g[0] ? sk_printf("%s/%s", g, v) : sk_strdup(v);
            sk_reply_json(q, 200, json_pack("{s:s,s:s,s:s,s:o}", "kind", "APIResourceList",
                                            "apiVersion", "v1", "groupVersion", gv, "resources", res));
            return;
        }
        json_decref(res);
    }
    sk_reply_status(q, SK_ENOTFOUND, "the server could not find the requested resource");
}
