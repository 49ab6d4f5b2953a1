/* Where proxied requests go: pods/proxy (the pod IP), services/proxy (a
 * random valid endpoint), nodes/proxy (the node agent, or another port on
 * the node), and the node agent address used by logs and streams. */
#include "apiserver/proxy_int.h"

#include <stdio.h>
#include <string.h>

bool sk_proxy_split_name(const char *id, char *scheme, size_t sn, char *name, size_t nn,
                         char *port, size_t pn)
{
    const char *parts[3] = {id, NULL, NULL};
    size_t lens[3];
    int np = 1;
    for (const char *p = id; *p; p++) {
        if (*p != ':') continue;
        if (np == 3) return false;
        parts[np++] = p + 1;
    }
    for (int i = 0; i < np; i++) {
        const char *e = strchr(parts[i], ':');
        lens[i] = e ? (size_t)(e - parts[i]) : strlen(parts[i]);
    }
    const char *sc = "", *nm, *pt = "";
    size_t scl = 0, nml, ptl = 0;
    if (np == 1) {
        nm = parts[0], nml = lens[0];
    } else if (np == 2) {
        nm = parts[0], nml = lens[0], pt = parts[1], ptl = lens[1];
    } else {
        sc = parts[0], scl = lens[0], nm = parts[1], nml = lens[1], pt = parts[2], ptl = lens[2];
    }
    bool scheme_ok = scl == 0 || (scl == 4 && !strncmp(sc, "http", 4)) ||
                     (scl == 5 && !strncmp(sc, "https", 5));
    if (!nml || !scheme_ok || scl >= sn || nml >= nn || ptl >= pn) return false;
    /* A number or a port name: the port is pasted into the backend URL, so
     * '@', '/', '?', '#' there would send the request to another host. */
    for (size_t i = 0; i < ptl; i++)
        if (!((pt[i] >= 'a' && pt[i] <= 'z') || (pt[i] >= 'A' && pt[i] <= 'Z') ||
              (pt[i] >= '0' && pt[i] <= '9') || pt[i] == '-'))
            return false;
    snprintf(scheme, sn, "%.*s", (int)scl, sc);
    snprintf(name, nn, "%.*s", (int)nml, nm);
    snprintf(port, pn, "%.*s", (int)ptl, pt);
    return true;
}

void sk_proxy_reply_err(struct sk_req *q, const sk_err *err, const char *plural, const char *name)
{
    if (err->code == SK_EINTERNAL || !err->code) {
        sk_proxy_status(q, 500, NULL, "%s", err->msg);
        return;
    }
    struct sk_route rt;
    memset(&rt, 0, sizeof rt);
    rt.res = plural ? sk_resource_find("", "v1", plural) : NULL;
    if (name) snprintf(rt.name, sizeof rt.name, "%s", name);
    sk_reply_err(q, err, rt.res ? &rt : NULL);
}

static void join_hostport(char *out, size_t n, const char *host, const char *port)
{
    if (strchr(host, ':')) snprintf(out, n, "[%s]:%s", host, port);
    else snprintf(out, n, "%s:%s", host, port);
}

/* Upstream's kube-apiserver tries --kubelet-preferred-address-types in
 * order; InternalIP comes first here (as kubeadm configures it) because a
 * node's hostname need not resolve. */
int sk_proxy_node_conn(struct sk_apiserver *s, const char *node, struct sk_node_conn *nc,
                       sk_err *err)
{
    static const char *const pref[] = {"InternalIP", "Hostname", "InternalDNS", "ExternalDNS",
                                       "ExternalIP"};
    const struct sk_resource *nr = sk_resource_find("", "v1", "nodes");
    _sk_json_ json_t *n = sk_rest_read(s, nr, NULL, node, NULL, err);
    if (!n) return -1;
    json_t *addrs = sk_json_path(n, "status.addresses");
    const char *host = NULL;
    for (size_t k = 0; k < SK_ARRAY_LEN(pref) && !host; k++) {
        size_t i;
        json_t *a;
        json_array_foreach(addrs, i, a) {
            const char *t = sk_json_str(a, "type"), *v = sk_json_str(a, "address");
            if (t && v && v[0] && !strcmp(t, pref[k])) {
                host = v;
                break;
            }
        }
    }
    if (!host || strlen(host) >= sizeof nc->host) {
        _sk_free_ char *known = addrs ? json_dumps(addrs, JSON_COMPACT) : NULL;
        return sk_err_set(err, SK_EINTERNAL, "no preferred addresses found; known addresses: %s",
                          known ? known : "[]");
    }
    snprintf(nc->host, sizeof nc->host, "%s", host);
    json_t *p = sk_json_path(n, "status.daemonEndpoints.kubeletEndpoint.Port");
    nc->port = json_is_integer(p) ? (int)json_integer_value(p) : 0;
    if (nc->port <= 0 || nc->port > 65535) nc->port = 10250;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", nc->port);
    join_hostport(nc->hostport, sizeof nc->hostport, nc->host, ps);
    return 0;
}

/* Upstream refuses proxying to addresses that are not global unicast.
 * Deliberate difference: loopback is allowed, because a single-host skiff
 * (and its tests) can run pods and agents on 127.0.0.1. */
static bool proxyable_ip(const char *ip)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, ip, a) == 1) {
        if (a[0] == 0 || a[0] >= 224) return false; /* unspecified, multicast, broadcast */
        if (a[0] == 169 && a[1] == 254) return false; /* link-local */
        return true;
    }
    if (inet_pton(AF_INET6, ip, a) == 1) {
        static const unsigned char zero[16];
        if (!memcmp(a, zero, 16)) return false;
        if (a[0] == 0xff) return false;
        if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return false;
        return true;
    }
    return false;
}

/* path.Join semantics for the part after ".../proxy": "" or "/a/b". */
static char *clean_path(const char *rest)
{
    size_t n = strlen(rest);
    char *out = sk_malloc(n + 2);
    size_t o = 0;
    for (const char *p = rest; *p;) {
        while (*p == '/') p++;
        const char *e = p;
        while (*e && *e != '/') e++;
        size_t l = (size_t)(e - p);
        if (l == 1 && p[0] == '.') {
            /* skip */
        } else if (l == 2 && p[0] == '.' && p[1] == '.') {
            while (o > 0 && out[o - 1] != '/') o--;
            if (o > 0) o--;
        } else if (l) {
            out[o++] = '/';
            memcpy(out + o, p, l);
            o += l;
        }
        p = e;
    }
    out[o] = 0;
    return out;
}

static bool proxy_method(const char *m)
{
    static const char *const ok[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};
    for (size_t i = 0; i < SK_ARRAY_LEN(ok); i++)
        if (!strcmp(m, ok[i])) return true;
    return false;
}

/* Forwards a plain (not upgraded) request; path_query is escaped. */
static void forward(struct sk_req *q, struct sk_route *rt, const char *scheme,
                    const char *hostport, bool kubelet, const char *path_query)
{
    _sk_free_ char *url = sk_printf("%s://%s%s", scheme, hostport, path_query);
    struct curl_slist *h = sk_proxy_fwd_headers(q, false, NULL);
    const char *host = sk_req_header(q, "Host");
    if (host && !strpbrk(host, "\r\n")) {
        _sk_free_ char *hl = sk_printf("Host: %s", host);
        h = curl_slist_append(h, hl);
    }
    sk_buf fu = SK_BUF_INIT;
    sk_buf_adds(&fu, "X-Forwarded-Uri: ");
    sk_proxy_escape_path(&fu, q->url);
    h = curl_slist_append(h, fu.data);
    sk_buf_release(&fu);
    size_t pl = rt->rest ? (size_t)(rt->rest - q->url) : strlen(q->url);
    _sk_free_ char *prefix = sk_strndup(q->url, pl);
    struct sk_fwd_req fr = {q->method, url, kubelet, h, q->body.data, q->body.len, prefix};
    sk_err err = SK_ERR_INIT;
    struct sk_fwd *f = sk_fwd_open(q, &fr, &err);
    if (!f) sk_proxy_status(q, 503, "ServiceUnavailable", "error trying to reach service: %s",
                            err.msg);
    else sk_fwd_reply(q, f, NULL);
    sk_err_clear(&err);
}

/* Upstream redirects ".../proxy" to ".../proxy/" (issue 4958). */
static void redirect_slash(struct sk_req *q, const sk_buf *query)
{
    sk_buf loc = SK_BUF_INIT;
    sk_proxy_escape_path(&loc, q->url);
    sk_buf_adds(&loc, "/");
    if (query->len) sk_buf_add(&loc, query->data, query->len);
    sk_reply_buf(q, 301, "text/plain; charset=utf-8", "", 0);
    MHD_add_response_header(q->resp, "Location", loc.data);
    sk_buf_release(&loc);
}

/* Proxies the request to scheme://hostport + the path after ".../proxy". */
static void proxy_to(struct sk_req *q, struct sk_route *rt, const char *scheme,
                     const char *hostport, bool kubelet)
{
    if (!proxy_method(q->method)) {
        sk_reply_status(q, SK_ENOTALLOWED,
                        "the server does not allow this method on the requested resource");
        return;
    }
    _sk_free_ char *clean = clean_path(rt->rest ? rt->rest : "");
    sk_buf path = SK_BUF_INIT, query = SK_BUF_INIT;
    sk_proxy_escape_path(&path, clean);
    size_t ul = strlen(q->url);
    if (ul && q->url[ul - 1] == '/' && !(path.len && path.data[path.len - 1] == '/'))
        sk_buf_adds(&path, "/");
    sk_proxy_add_query(q, &query);
    bool upgrade = sk_proxy_is_upgrade(q);
    if (!path.len && !upgrade && (!strcmp(q->method, "GET") || !strcmp(q->method, "HEAD"))) {
        redirect_slash(q, &query);
    } else {
        if (!path.len) sk_buf_adds(&path, "/");
        if (query.len) sk_buf_add(&path, query.data, query.len);
        if (upgrade) {
            struct sk_tunnel_target t = {scheme, hostport, path.data, kubelet, false};
            sk_tunnel_reply(q, &t);
        } else {
            forward(q, rt, scheme, hostport, kubelet, path.data);
        }
    }
    sk_buf_release(&path);
    sk_buf_release(&query);
}

static const char *pod_ip(const json_t *pod)
{
    json_t *ips = sk_json_path(pod, "status.podIPs");
    const char *ip = sk_json_str(json_array_get(ips, 0), "ip");
    return ip && ip[0] ? ip : sk_json_path_str(pod, "status.podIP");
}

void sk_proxy_pod_proxy(struct sk_req *q, struct sk_route *rt)
{
    char scheme[8], name[256], port[64];
    if (!sk_proxy_split_name(rt->name, scheme, sizeof scheme, name, sizeof name, port,
                             sizeof port)) {
        sk_reply_status(q, SK_EBADREQUEST, "invalid pod request \"%s\"", rt->name);
        return;
    }
    sk_err err = SK_ERR_INIT;
    _sk_json_ json_t *pod = sk_rest_read(q->srv, rt->res, rt->ns, name, NULL, &err);
    if (!pod) {
        sk_proxy_reply_err(q, &err, "pods", name);
        sk_err_clear(&err);
        return;
    }
    if (!port[0]) {
        size_t i;
        json_t *c;
        json_array_foreach(sk_json_path(pod, "spec.containers"), i, c) {
            json_t *cp = json_object_get(json_array_get(json_object_get(c, "ports"), 0),
                                         "containerPort");
            if (json_is_integer(cp)) {
                snprintf(port, sizeof port, "%lld", (long long)json_integer_value(cp));
                break;
            }
        }
    }
    const char *ip = pod_ip(pod);
    if (!ip || !proxyable_ip(ip)) {
        sk_reply_status(q, SK_EBADREQUEST, "address not allowed");
        return;
    }
    char hp[320];
    if (port[0]) join_hostport(hp, sizeof hp, ip, port);
    else snprintf(hp, sizeof hp, strchr(ip, ':') ? "[%s]" : "%s", ip);
    proxy_to(q, rt, scheme[0] ? scheme : "http", hp, false);
}

/* upstream isValidAddress: the endpoint must name a pod of this namespace
 * that really has this IP. */
static bool valid_address(struct sk_apiserver *s, const char *ns, const json_t *addr)
{
    json_t *ref = json_object_get(addr, "targetRef");
    const char *rns = sk_json_str(ref, "namespace"), *rname = sk_json_str(ref, "name");
    const char *ip = sk_json_str(addr, "ip");
    if (!ref || !rns || strcmp(rns, ns) || !rname || !ip) return false;
    sk_err err = SK_ERR_INIT;
    _sk_json_ json_t *pod = sk_rest_read(s, sk_resource_find("", "v1", "pods"), ns, rname, NULL,
                                         &err);
    sk_err_clear(&err);
    if (!pod) return false;
    size_t i;
    json_t *p;
    json_array_foreach(sk_json_path(pod, "status.podIPs"), i, p) {
        const char *pip = sk_json_str(p, "ip");
        if (pip && !strcmp(pip, ip)) return true;
    }
    const char *pip = sk_json_path_str(pod, "status.podIP");
    return pip && !strcmp(pip, ip);
}

/* Resolves a numeric port to the service port's name. 0, or -1 replied. */
static int port_name(struct sk_req *q, struct sk_route *rt, const char *name, char *port,
                     size_t pn)
{
    char *end;
    long num = strtol(port, &end, 10);
    if (!port[0] || *end) return 0;
    sk_err err = SK_ERR_INIT;
    _sk_json_ json_t *svc = sk_rest_read(q->srv, rt->res, rt->ns, name, NULL, &err);
    if (!svc) {
        sk_proxy_reply_err(q, &err, "services", name);
        sk_err_clear(&err);
        return -1;
    }
    size_t i;
    json_t *p;
    json_array_foreach(sk_json_path(svc, "spec.ports"), i, p) {
        if (json_integer_value(json_object_get(p, "port")) == num) {
            const char *pname = sk_json_str(p, "name");
            snprintf(port, pn, "%s", pname ? pname : "");
            return 0;
        }
    }
    sk_proxy_status(q, 503, "ServiceUnavailable", "no service port %ld found for service \"%s\"",
                    num, name);
    return -1;
}

/* Picks scheme://ip:port from the Endpoints (random subset, random address
 * start) into hp. 0, or -1 replied. */
static int pick_endpoint(struct sk_req *q, struct sk_route *rt, const char *name,
                         const char *port, char *hp, size_t hn)
{
    sk_err err = SK_ERR_INIT;
    _sk_json_ json_t *eps =
        sk_rest_read(q->srv, sk_resource_find("", "v1", "endpoints"), rt->ns, name, NULL, &err);
    if (!eps) {
        sk_proxy_reply_err(q, &err, "endpoints", name);
        sk_err_clear(&err);
        return -1;
    }
    json_t *subsets = json_object_get(eps, "subsets");
    size_t ns = json_array_size(subsets);
    if (!ns) {
        sk_proxy_status(q, 503, "ServiceUnavailable", "no endpoints available for service \"%s\"",
                        name);
        return -1;
    }
    size_t seed = (size_t)random() % ns;
    for (size_t k = 0; k < ns; k++) {
        json_t *ss = json_array_get(subsets, (seed + k) % ns);
        json_t *addrs = json_object_get(ss, "addresses");
        size_t na = json_array_size(addrs);
        if (!na) continue;
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(ss, "ports"), i, p) {
            const char *pname = sk_json_str(p, "name");
            if (strcmp(pname ? pname : "", port)) continue;
            json_int_t pnum = json_integer_value(json_object_get(p, "port"));
            size_t aseed = (size_t)random() % na;
            for (size_t t = 0; t < na; t++) {
                json_t *a = json_array_get(addrs, (aseed + t) % na);
                if (!valid_address(q->srv, rt->ns, a)) continue;
                char ps[24];
                snprintf(ps, sizeof ps, "%lld", (long long)pnum);
                join_hostport(hp, hn, sk_json_str(a, "ip"), ps);
                return 0;
            }
        }
    }
    sk_proxy_status(q, 503, "ServiceUnavailable", "no endpoints available for service \"%s\"",
                    rt->name);
    return -1;
}

void sk_proxy_service_proxy(struct sk_req *q, struct sk_route *rt)
{
    char scheme[8], name[256], port[256];
    if (!sk_proxy_split_name(rt->name, scheme, sizeof scheme, name, sizeof name, port,
                             sizeof port)) {
        sk_reply_status(q, SK_EBADREQUEST, "invalid service request \"%s\"", rt->name);
        return;
    }
    if (port_name(q, rt, name, port, sizeof port) < 0) return;
    char hp[320];
    if (pick_endpoint(q, rt, name, port, hp, sizeof hp) < 0) return;
    proxy_to(q, rt, scheme[0] ? scheme : "http", hp, false);
}

void sk_proxy_node_proxy(struct sk_req *q, struct sk_route *rt)
{
    char scheme[8], name[256], port[64];
    if (!sk_proxy_split_name(rt->name, scheme, sizeof scheme, name, sizeof name, port,
                             sizeof port)) {
        sk_reply_status(q, SK_EBADREQUEST, "invalid node request \"%s\"", rt->name);
        return;
    }
    struct sk_node_conn nc;
    sk_err err = SK_ERR_INIT;
    if (sk_proxy_node_conn(q->srv, name, &nc, &err) < 0) {
        sk_proxy_reply_err(q, &err, "nodes", name);
        sk_err_clear(&err);
        return;
    }
    char ps[16];
    snprintf(ps, sizeof ps, "%d", nc.port);
    if (!port[0] || !strcmp(port, ps)) {
        if (!q->srv->proxy->cert_path[0]) {
            sk_proxy_status(q, 503, "ServiceUnavailable",
                            "the API server has no client certificate for node agents");
            return;
        }
        proxy_to(q, rt, "https", nc.hostport, true);
        return;
    }
    if (!proxyable_ip(nc.host)) {
        sk_reply_status(q, SK_EBADREQUEST, "address not allowed");
        return;
    }
    char hp[320];
    join_hostport(hp, sizeof hp, nc.host, port);
    proxy_to(q, rt, scheme[0] ? scheme : "http", hp, false);
}
