/* The in-process transport (sk_apiserver_local_call/_watch behind
 * sk_client_local): a real API server over a real store, one client that
 * hands requests over directly and one that speaks HTTPS with a client
 * certificate. Both must see the same objects, the same error codes and
 * messages, and the same watch events; what is HTTPS-only must be refused
 * with a clear error, and nothing may be reachable once the server stops. */
#include "apiserver/apiserver.h"
#include "client/client.h"
#include "pki/pki.h"
#include "store/store.h"
#include "unit/test.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct ep {
    sk_apiserver *api;
    sk_identity id;
};

static struct {
    char dir[64];
    sk_store *st;
    sk_apiserver *api;
    struct ep ep;
    sk_client *lc; /* in-process */
    sk_client *hc; /* HTTPS */
    const struct sk_resource *cm, *pods;
} E;

#define NS "default"

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    return remove(p);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- the in-process endpoint, wired as `skiff server` wires it ---------- */

static int ep_call(void *ud, const char *method, const char *path, const json_t *body,
                   const char *ctype, long *status, json_t **reply, sk_buf *raw)
{
    struct ep *e = ud;
    return sk_apiserver_local_call(e->api, &e->id, method, path, body, ctype, status, reply, raw);
}

static int ep_watch(void *ud, const char *path, int (*cb)(void *, const char *, json_t *),
                    void *cb_ud, int (*tick)(void *), void *tick_ud, long *status, json_t **reply)
{
    struct ep *e = ud;
    return sk_apiserver_local_watch(e->api, &e->id, path, cb, cb_ud, tick, tick_ud, status, reply);
}

/* ---- setup ---------------------------------------------------------------- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

static char *pki_file(const char *name, sk_err *err)
{
    _sk_free_ char *p = sk_printf("%s/pki/%s", E.dir, name);
    return sk_read_file(p, NULL, err);
}

static sk_client *make_client(const char *url, const char *ca, const char *cn, const char *org,
                              bool local, sk_err *err)
{
    const char *orgs[] = {org, NULL};
    sk_pem_pair pp = {0};
    if (sk_pki_issue_client(E.dir, cn, org ? orgs : NULL, &pp, err) < 0) return NULL;
    struct sk_client_local lo = {ep_call, ep_watch, &E.ep};
    struct sk_client_config cfg = {.server = url, .ca_pem = ca, .cert_pem = pp.cert,
                                   .key_pem = pp.key, .user_agent = cn,
                                   .local = local ? &lo : NULL};
    sk_client *c = sk_client_new(&cfg, err);
    sk_pem_pair_release(&pp);
    return c;
}

static int setup(sk_err *err)
{
    _sk_free_ char *db = sk_printf("%s/skiff.db", E.dir);
    /* no time retention and a short history: sk_store_compact() then
     * compacts at once; the timer never fires during the test */
    struct sk_store_config sc = {.backend = "sqlite", .path = db, .keep_seconds = -1,
                                 .keep_revisions = 5, .compact_interval_ms = 3600000};
    if (!(E.st = sk_store_open(&sc, err))) return -1;
    const char *sans[] = {"localhost", "127.0.0.1"};
    if (sk_pki_ensure(E.dir, sans, 2, err) < 0) return -1;
    _sk_free_ char *ca = pki_file("ca.crt", err);
    _sk_free_ char *cert = ca ? pki_file("server.crt", err) : NULL;
    _sk_free_ char *key = cert ? pki_file("server.key", err) : NULL;
    if (!key) return -1;
    int port = -1;
    for (int attempt = 0; attempt < 5 && !E.api; attempt++) {
        /* the port may be taken between the probe and the bind: try again */
        port = free_port();
        struct sk_apiserver_config ac = {.bind_address = "127.0.0.1", .port = port,
                                         .cert_pem = cert, .key_pem = key, .ca_pem = ca,
                                         .service_cidr = "10.96.0.0/12",
                                         .advertise_address = "127.0.0.1"};
        if (port <= 0 || !(E.api = sk_apiserver_new(&ac, E.st, err))) return -1;
        if (sk_apiserver_start(E.api, err) < 0) {
            fprintf(stderr, "start on port %d: %s\n", port, err->msg);
            sk_apiserver_free(E.api);
            E.api = NULL;
        }
    }
    if (!E.api) return -1;
    E.ep.api = E.api;
    snprintf(E.ep.id.user, sizeof E.ep.id.user, "system:kube-controller-manager");
    _sk_free_ char *url = sk_printf("https://127.0.0.1:%d", port);
    E.lc = make_client(url, ca, "system:kube-controller-manager", NULL, true, err);
    if (!E.lc) return -1;
    E.hc = make_client(url, ca, "local-test-admin", "system:masters", false, err);
    return E.hc ? 0 : -1;
}

static void teardown(void)
{
    sk_client_free(E.lc);
    sk_client_free(E.hc);
    if (E.api) sk_apiserver_stop(E.api);
    sk_apiserver_free(E.api);
    sk_store_free(E.st);
    nftw(E.dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- helpers ---------------------------------------------------------------- */

static json_t *configmap(const char *name, const char *labels_json)
{
    json_t *o = json_pack("{s:s,s:s,s:{s:s},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                          "metadata", "name", name, "data", "a", "1");
    if (labels_json)
        json_object_set_new(json_object_get(o, "metadata"), "labels",
                            json_loads(labels_json, 0, NULL));
    return o;
}

static const char *rv_of(const json_t *o) { return sk_json_path_str(o, "metadata.resourceVersion"); }

/* The same GET over HTTPS returns exactly what the local client saw. */
static void check_same_over_https(const struct sk_resource *r, const char *name, const json_t *want)
{
    sk_err err = SK_ERR_INIT;
    _sk_json_ json_t *h = sk_client_get(E.hc, r, NS, name, &err);
    if (!h) fprintf(stderr, "https get %s: %s\n", name, err.msg);
    CHECK(h && json_equal(h, want));
    sk_err_clear(&err);
}

/* Both transports fail alike: same code, same message. */
static void check_err_same(const sk_err *l, const sk_err *h, enum sk_code want)
{
    CHECK_INT(l->code, want);
    CHECK_INT(h->code, want);
    CHECK(l->msg[0] != 0);
    CHECK_STR(l->msg, h->msg);
}

/* ---- CRUD ------------------------------------------------------------------- */

static int test_crud(void)
{
    sk_err err = SK_ERR_INIT;
    _sk_json_ json_t *obj = configmap("crud", "{\"app\":\"x\"}");
    _sk_json_ json_t *created = sk_client_create(E.lc, E.cm, NS, obj, &err);
    if (!created) fprintf(stderr, "create: %s\n", err.msg);
    REQUIRE(created);
    CHECK_STR(sk_json_str(created, "kind"), "ConfigMap");
    CHECK_STR(sk_json_str(created, "apiVersion"), "v1");
    CHECK(rv_of(created) && *rv_of(created));
    CHECK(sk_json_path_str(created, "metadata.uid") != NULL);
    CHECK_STR(sk_json_path_str(created, "data.a"), "1");

    _sk_json_ json_t *got = sk_client_get(E.lc, E.cm, NS, "crud", &err);
    REQUIRE(got);
    CHECK(json_equal(got, created));
    check_same_over_https(E.cm, "crud", got);

    _sk_json_ json_t *upd = json_deep_copy(got);
    json_object_set_new(json_object_get(upd, "data"), "a", json_string("2"));
    _sk_json_ json_t *updated = sk_client_update(E.lc, E.cm, NS, upd, NULL, &err);
    if (!updated) fprintf(stderr, "update: %s\n", err.msg);
    REQUIRE(updated);
    CHECK_STR(sk_json_path_str(updated, "data.a"), "2");
    CHECK(strcmp(rv_of(updated), rv_of(got)) != 0);
    check_same_over_https(E.cm, "crud", updated);

    _sk_json_ json_t *mp = json_loads("{\"data\":{\"b\":\"3\"},\"metadata\":{\"labels\":{\"m\":\"y\"}}}",
                                      0, NULL);
    _sk_json_ json_t *merged = sk_client_patch(E.lc, E.cm, NS, "crud", "application/merge-patch+json",
                                               mp, NULL, &err);
    if (!merged) fprintf(stderr, "merge patch: %s\n", err.msg);
    REQUIRE(merged);
    CHECK_STR(sk_json_path_str(merged, "data.a"), "2");
    CHECK_STR(sk_json_path_str(merged, "data.b"), "3");
    CHECK_STR(sk_json_path_str(merged, "metadata.labels.app"), "x");
    CHECK_STR(sk_json_path_str(merged, "metadata.labels.m"), "y");

    _sk_json_ json_t *sp = json_loads("{\"data\":{\"a\":null}}", 0, NULL);
    _sk_json_ json_t *strat = sk_client_patch(E.lc, E.cm, NS, "crud",
                                              "application/strategic-merge-patch+json", sp, NULL,
                                              &err);
    if (!strat) fprintf(stderr, "strategic patch: %s\n", err.msg);
    REQUIRE(strat);
    CHECK(sk_json_path(strat, "data.a") == NULL);
    CHECK_STR(sk_json_path_str(strat, "data.b"), "3");
    check_same_over_https(E.cm, "crud", strat);

    CHECK(sk_client_delete(E.lc, E.cm, NS, "crud", NULL, -1, NULL, &err) == 0);
    sk_err le = SK_ERR_INIT, he = SK_ERR_INIT;
    CHECK(sk_client_get(E.lc, E.cm, NS, "crud", &le) == NULL);
    CHECK(sk_client_get(E.hc, E.cm, NS, "crud", &he) == NULL);
    check_err_same(&le, &he, SK_ENOTFOUND);
    CHECK(sk_client_delete(E.lc, E.cm, NS, "crud", NULL, -1, NULL, &le) < 0);
    CHECK_INT(le.code, SK_ENOTFOUND);
    sk_err_clear(&le);
    sk_err_clear(&he);
    sk_err_clear(&err);
    return 0;
}

/* Strategic merge keys lists by their merge key (containers by name);
 * the pod is left in place (no node agent ends graceful deletion). */
static int test_pod_strategic(void)
{
    sk_err err = SK_ERR_INIT;
    _sk_json_ json_t *pod = json_loads(
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"sm\"},\"spec\":{"
        "\"containers\":[{\"name\":\"a\",\"image\":\"busybox\"},{\"name\":\"b\",\"image\":\"x:1\"}]}}",
        0, NULL);
    _sk_json_ json_t *created = sk_client_create(E.lc, E.pods, NS, pod, &err);
    if (!created) fprintf(stderr, "create pod: %s\n", err.msg);
    REQUIRE(created);
    _sk_json_ json_t *patch =
        json_loads("{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"x:2\"}]}}", 0, NULL);
    _sk_json_ json_t *p = sk_client_patch(E.lc, E.pods, NS, "sm",
                                          "application/strategic-merge-patch+json", patch, NULL, &err);
    if (!p) fprintf(stderr, "strategic pod patch: %s\n", err.msg);
    REQUIRE(p);
    json_t *cs = sk_json_path(p, "spec.containers");
    CHECK_INT(json_array_size(cs), 2);
    CHECK_STR(sk_json_str(json_array_get(cs, 0), "image"), "busybox");
    CHECK_STR(sk_json_str(json_array_get(cs, 1), "name"), "b");
    CHECK_STR(sk_json_str(json_array_get(cs, 1), "image"), "x:2");
    check_same_over_https(E.pods, "sm", p);
    sk_err_clear(&err);
    return 0;
}

/* ---- errors -------------------------------------------------------------- */

static int test_errors(void)
{
    sk_err le = SK_ERR_INIT, he = SK_ERR_INIT;
    CHECK(sk_client_get(E.lc, E.cm, NS, "missing", &le) == NULL);
    CHECK(sk_client_get(E.hc, E.cm, NS, "missing", &he) == NULL);
    check_err_same(&le, &he, SK_ENOTFOUND);
    sk_err_clear(&le);
    sk_err_clear(&he);

    _sk_json_ json_t *obj = configmap("twice", NULL);
    _sk_json_ json_t *first = sk_client_create(E.lc, E.cm, NS, obj, &le);
    REQUIRE(first);
    CHECK(sk_client_create(E.lc, E.cm, NS, obj, &le) == NULL);
    CHECK(sk_client_create(E.hc, E.cm, NS, obj, &he) == NULL);
    check_err_same(&le, &he, SK_EEXIST);
    sk_err_clear(&le);
    sk_err_clear(&he);

    /* first carries a resourceVersion that the next write makes stale */
    _sk_json_ json_t *fresh = json_deep_copy(first);
    json_object_set_new(json_object_get(fresh, "data"), "a", json_string("fresh"));
    _sk_json_ json_t *u = sk_client_update(E.lc, E.cm, NS, fresh, NULL, &le);
    REQUIRE(u);
    json_object_set_new(json_object_get(first, "data"), "a", json_string("stale"));
    CHECK(sk_client_update(E.lc, E.cm, NS, first, NULL, &le) == NULL);
    CHECK(sk_client_update(E.hc, E.cm, NS, first, NULL, &he) == NULL);
    check_err_same(&le, &he, SK_ECONFLICT);
    sk_err_clear(&le);
    sk_err_clear(&he);

    _sk_json_ json_t *bad = configmap("Not_A_Valid_Name", NULL);
    CHECK(sk_client_create(E.lc, E.cm, NS, bad, &le) == NULL);
    CHECK(sk_client_create(E.hc, E.cm, NS, bad, &he) == NULL);
    check_err_same(&le, &he, SK_EINVALID);
    CHECK(strstr(le.msg, "Not_A_Valid_Name") != NULL);
    sk_err_clear(&le);
    sk_err_clear(&he);

    CHECK(sk_client_delete(E.lc, E.cm, NS, "twice", NULL, -1, NULL, &le) == 0);
    sk_err_clear(&le);
    return 0;
}

/* ---- raw requests and what the local transport refuses ---------------------- */

static int test_requests(void)
{
    sk_err err = SK_ERR_INIT;
    long status = 0;
    _sk_json_ json_t *ok = sk_client_request(E.lc, "GET", "/healthz", NULL, NULL, &status, &err);
    CHECK_INT(status, 200);
    CHECK(json_is_string(ok) && !strcmp(json_string_value(ok), "ok"));
    _sk_json_ json_t *hok = sk_client_request(E.hc, "GET", "/healthz", NULL, NULL, &status, &err);
    CHECK_INT(status, 200);
    CHECK(hok && ok && json_equal(ok, hok));

    _sk_json_ json_t *ver = sk_client_request(E.lc, "GET", "/version", NULL, NULL, &status, &err);
    _sk_json_ json_t *hver = sk_client_request(E.hc, "GET", "/version", NULL, NULL, &status, &err);
    CHECK(sk_json_str(ver, "gitVersion") != NULL);
    CHECK(ver && hver && json_equal(ver, hver));

    /* discovery: HTTPS serves it, the local transport answers a Status */
    _sk_json_ json_t *hapi = sk_client_request(E.hc, "GET", "/api", NULL, NULL, &status, &err);
    CHECK_INT(status, 200);
    CHECK_STR(sk_json_str(hapi, "kind"), "APIVersions");
    const char *disc[] = {"/api", "/apis", "/apis/apps/v1", "/openapi/v2", "/"};
    for (size_t i = 0; i < SK_ARRAY_LEN(disc); i++) {
        sk_err e = SK_ERR_INIT;
        json_t *r = sk_client_request(E.lc, "GET", disc[i], NULL, NULL, &status, &e);
        CHECK_INT(status, 404);
        CHECK_INT(e.code, SK_ENOTFOUND);
        CHECK(strstr(e.msg, "HTTPS only") != NULL);
        CHECK_STR(sk_json_str(r, "kind"), "Status");
        json_decref(r);
        sk_err_clear(&e);
    }
    /* streaming subresources need the connection */
    const char *streams[] = {"/api/v1/namespaces/default/pods/sm/log",
                             "/api/v1/namespaces/default/pods/sm/exec?command=ls&stdout=1",
                             "/api/v1/namespaces/default/services/svc:80/proxy/x"};
    for (size_t i = 0; i < SK_ARRAY_LEN(streams); i++) {
        sk_err e = SK_ERR_INIT;
        json_t *r = sk_client_request(E.lc, "GET", streams[i], NULL, NULL, &status, &e);
        CHECK_INT(status, 400);
        CHECK_INT(e.code, SK_EBADREQUEST);
        CHECK(strstr(e.msg, "HTTPS only") != NULL);
        json_decref(r);
        sk_err_clear(&e);
    }
    /* a watch through the plain call entry point is refused, not hung */
    sk_err e = SK_ERR_INIT;
    json_t *w = sk_client_request(E.lc, "GET", "/api/v1/namespaces/default/configmaps?watch=1",
                                  NULL, NULL, &status, &e);
    CHECK_INT(status, 400);
    CHECK_INT(e.code, SK_EBADREQUEST);
    json_decref(w);
    sk_err_clear(&e);
    /* unknown paths */
    w = sk_client_request(E.lc, "GET", "/nope/at/all", NULL, NULL, &status, &e);
    CHECK_INT(status, 404);
    CHECK_INT(e.code, SK_ENOTFOUND);
    json_decref(w);
    sk_err_clear(&e);
    sk_err_clear(&err);
    return 0;
}

/* ---- lists: selectors and paging ----------------------------------------------- */

static void pct_encode(sk_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            sk_buf_add(b, s, 1);
        else
            sk_buf_addf(b, "%%%02X", c);
    }
}

static size_t list_count(sk_client *c, const char *ls, const char *fs)
{
    sk_err err = SK_ERR_INIT;
    _sk_json_ json_t *l = sk_client_list(c, E.cm, NS, ls, fs, &err);
    if (!l) fprintf(stderr, "list %s %s: %s\n", ls ? ls : "", fs ? fs : "", err.msg);
    sk_err_clear(&err);
    return l ? json_array_size(json_object_get(l, "items")) : (size_t)-1;
}

static int test_list(void)
{
    sk_err err = SK_ERR_INIT;
    for (int i = 0; i < 22; i++) {
        char name[32], labels[64];
        snprintf(name, sizeof name, "item-%02d", i);
        snprintf(labels, sizeof labels, "{\"batch\":\"%s\",\"parity\":\"%s\"}", i < 20 ? "1" : "2",
                 i % 2 ? "odd" : "even");
        _sk_json_ json_t *o = configmap(name, labels);
        _sk_json_ json_t *c = sk_client_create(E.lc, E.cm, NS, o, &err);
        CHECK(c != NULL);
    }
    _sk_json_ json_t *l = sk_client_list(E.lc, E.cm, NS, "batch=1", NULL, &err);
    _sk_json_ json_t *h = sk_client_list(E.hc, E.cm, NS, "batch=1", NULL, &err);
    REQUIRE(l && h);
    CHECK_STR(sk_json_str(l, "kind"), "ConfigMapList");
    CHECK(rv_of(l) && *rv_of(l));
    CHECK_INT(json_array_size(json_object_get(l, "items")), 20);
    CHECK(json_equal(json_object_get(l, "items"), json_object_get(h, "items")));
    CHECK_INT(list_count(E.lc, "batch=1,parity=even", NULL), 10);
    CHECK_INT(list_count(E.lc, "parity in (odd),batch!=2", NULL), 10);
    CHECK_INT(list_count(E.lc, "batch", NULL), 22);
    CHECK_INT(list_count(E.lc, "nosuchlabel", NULL), 0);

    _sk_json_ json_t *one = sk_client_list(E.lc, E.cm, NS, NULL, "metadata.name=item-07", &err);
    REQUIRE(one);
    json_t *items = json_object_get(one, "items");
    CHECK_INT(json_array_size(items), 1);
    CHECK_STR(sk_json_path_str(json_array_get(items, 0), "metadata.name"), "item-07");
    CHECK_INT(list_count(E.lc, "batch=1", "metadata.name!=item-07"), 19);

    /* paging by hand: limit and continue through the local transport */
    _sk_free_ char *cont = NULL;
    int pages = 0, total = 0;
    char last[32] = "";
    do {
        sk_buf p = SK_BUF_INIT;
        sk_buf_adds(&p, "/api/v1/namespaces/default/configmaps?limit=7&labelSelector=");
        pct_encode(&p, "batch=1");
        if (cont) {
            sk_buf_adds(&p, "&continue=");
            pct_encode(&p, cont);
        }
        _sk_free_ char *path = sk_buf_take(&p);
        long status = 0;
        _sk_json_ json_t *page = sk_client_request(E.lc, "GET", path, NULL, NULL, &status, &err);
        REQUIRE(page && status == 200);
        json_t *it = json_object_get(page, "items");
        for (size_t i = 0; i < json_array_size(it); i++) {
            const char *n = sk_json_path_str(json_array_get(it, i), "metadata.name");
            CHECK(n && strcmp(n, last) > 0); /* key order, no repeats across pages */
            snprintf(last, sizeof last, "%s", n ? n : "");
            total++;
        }
        free(cont);
        const char *next = sk_json_path_str(page, "metadata.continue");
        cont = next && *next ? sk_strdup(next) : NULL;
        pages++;
    } while (cont && pages < 10);
    CHECK_INT(pages, 3);
    CHECK_INT(total, 20);
    sk_err_clear(&err);
    return 0;
}

/* ---- watches -------------------------------------------------------------------- */

struct evrec {
    char type[16], name[64];
    long long rv;
    bool typed; /* kind and apiVersion present */
    long long code;
};

struct wcol {
    pthread_mutex_t mu;
    struct evrec ev[32];
    int n;
    const char *end_on; /* the callback ends the watch after this event type */
};

static int collect(void *ud, const char *type, json_t *obj)
{
    struct wcol *w = ud;
    if (!strcmp(type, "BOOKMARK")) return 0;
    pthread_mutex_lock(&w->mu);
    if (w->n < 32) {
        struct evrec *r = &w->ev[w->n];
        snprintf(r->type, sizeof r->type, "%s", type);
        const char *n = sk_json_path_str(obj, "metadata.name");
        snprintf(r->name, sizeof r->name, "%s", n ? n : "");
        const char *rv = rv_of(obj);
        r->rv = rv ? strtoll(rv, NULL, 10) : 0;
        r->typed = sk_json_str(obj, "kind") && sk_json_str(obj, "apiVersion");
        r->code = json_integer_value(json_object_get(obj, "code"));
        __atomic_store_n(&w->n, w->n + 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&w->mu);
    return w->end_on && !strcmp(type, w->end_on) ? -1 : 0;
}

static int events(struct wcol *w) { return __atomic_load_n(&w->n, __ATOMIC_ACQUIRE); }

static bool wait_events(struct wcol *w, int n, int64_t timeout_ms)
{
    int64_t end = sk_now_ms() + timeout_ms;
    while (events(w) < n && sk_now_ms() < end) sleep_ms(5);
    return events(w) >= n;
}

struct writer {
    struct wcol *w;
    int ok;
};

/* Changes made over HTTPS once the local watch has seen w-a: the
 * broadcaster feeds local watchers from every write. */
static void *watch_writer(void *ud)
{
    struct writer *wr = ud;
    sk_err err = SK_ERR_INIT;
    if (!wait_events(wr->w, 1, 5000)) return NULL;
    _sk_json_ json_t *p = json_loads("{\"data\":{\"a\":\"2\"}}", 0, NULL);
    _sk_json_ json_t *m = sk_client_patch(E.hc, E.cm, NS, "w-a", "application/merge-patch+json",
                                          p, NULL, &err);
    _sk_json_ json_t *other = configmap("w-b", "{\"w\":\"0\"}");
    _sk_json_ json_t *c = sk_client_create(E.hc, E.cm, NS, other, &err);
    int d = sk_client_delete(E.hc, E.cm, NS, "w-a", NULL, -1, NULL, &err);
    wr->ok = m && c && d == 0;
    sk_err_clear(&err);
    return NULL;
}

static void check_sequence(struct wcol *w, int from, const char *const *types, int n)
{
    CHECK(events(w) >= from + n);
    for (int i = 0; i < n && from + i < events(w); i++) {
        struct evrec *r = &w->ev[from + i];
        CHECK_STR(r->type, types[i]);
        CHECK_STR(r->name, "w-a");
        CHECK(r->rv > 0);
        CHECK(r->typed);
        if (from + i > 0) CHECK(r->rv > w->ev[from + i - 1].rv);
    }
}

static int test_watch(void)
{
    sk_err err = SK_ERR_INIT;
    _sk_json_ json_t *a = configmap("w-a", "{\"w\":\"1\"}");
    _sk_json_ json_t *ca = sk_client_create(E.lc, E.cm, NS, a, &err);
    _sk_json_ json_t *x = configmap("w-x", "{\"w\":\"0\"}");
    _sk_json_ json_t *cx = sk_client_create(E.lc, E.cm, NS, x, &err);
    REQUIRE(ca && cx);

    struct wcol w = {.mu = PTHREAD_MUTEX_INITIALIZER, .end_on = "DELETED"};
    struct writer wr = {.w = &w};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, watch_writer, &wr) == 0);
    int rc = sk_client_watch(E.lc, E.cm, NS, NULL, "w=1", NULL, 10, collect, &w, NULL, &err);
    pthread_join(t, NULL);
    if (rc < 0) fprintf(stderr, "local watch: %s\n", err.msg);
    CHECK_INT(rc, 0);
    CHECK(wr.ok);
    const char *want[] = {"ADDED", "MODIFIED", "DELETED"};
    CHECK_INT(events(&w), 3); /* w-x and w-b never match w=1 */
    check_sequence(&w, 0, want, 3);

    /* the same history over HTTPS, from the ADDED event's revision */
    struct wcol hw = {.mu = PTHREAD_MUTEX_INITIALIZER, .end_on = "DELETED"};
    char rv[32];
    snprintf(rv, sizeof rv, "%lld", w.ev[0].rv);
    (void)sk_client_watch(E.hc, E.cm, NS, rv, "w=1", NULL, 5, collect, &hw, NULL, &err);
    CHECK_INT(events(&hw), 2);
    check_sequence(&hw, 0, want + 1, 2);
    for (int i = 0; i < 2 && i < events(&hw); i++) CHECK_INT(hw.ev[i].rv, w.ev[i + 1].rv);

    /* and the local watch from that revision replays the same */
    struct wcol lw = {.mu = PTHREAD_MUTEX_INITIALIZER, .end_on = "DELETED"};
    CHECK(sk_client_watch(E.lc, E.cm, NS, rv, "w=1", NULL, 5, collect, &lw, NULL, &err) == 0);
    CHECK_INT(events(&lw), 2);
    for (int i = 0; i < 2 && i < events(&lw); i++) CHECK_INT(lw.ev[i].rv, w.ev[i + 1].rv);

    /* a bad resourceVersion is refused before streaming */
    sk_err e = SK_ERR_INIT;
    struct wcol bw = {.mu = PTHREAD_MUTEX_INITIALIZER};
    CHECK(sk_client_watch(E.lc, E.cm, NS, "abc", NULL, NULL, 5, collect, &bw, NULL, &e) < 0);
    CHECK_INT(e.code, SK_EBADREQUEST);
    CHECK_INT(events(&bw), 0);
    sk_err_clear(&e);
    sk_err_clear(&err);
    return 0;
}

struct stopper {
    struct wcol w;
    volatile int stop;
    int rc;
};

static void *stop_watcher(void *ud)
{
    struct stopper *s = ud;
    sk_err err = SK_ERR_INIT;
    s->rc = sk_client_watch(E.lc, E.cm, NS, NULL, "w=0", NULL, 20, collect, &s->w, &s->stop, &err);
    sk_err_clear(&err);
    return NULL;
}

static int test_watch_stop(void)
{
    struct stopper s = {.w = {.mu = PTHREAD_MUTEX_INITIALIZER}};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, stop_watcher, &s) == 0);
    bool started = wait_events(&s.w, 2, 5000); /* ADDED w-x and w-b */
    CHECK(started);
    sleep_ms(150); /* let it block waiting for changes */
    int64_t t0 = sk_now_ms();
    __atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    int64_t took = sk_now_ms() - t0;
    CHECK(took < 300);
    if (took >= 300) fprintf(stderr, "watch took %lld ms to stop\n", (long long)took);
    CHECK_INT(s.rc, 0);
    return 0;
}

/* ---- informer ---------------------------------------------------------------------- */

struct icount {
    pthread_mutex_t mu;
    int adds, updates, deletes;
    char last_update_a[16];
};

static void on_add(void *ud, const json_t *o)
{
    struct icount *c = ud;
    pthread_mutex_lock(&c->mu);
    c->adds++;
    pthread_mutex_unlock(&c->mu);
}

static void on_update(void *ud, const json_t *old, const json_t *cur)
{
    struct icount *c = ud;
    pthread_mutex_lock(&c->mu);
    c->updates++;
    const char *a = sk_json_path_str(cur, "data.a");
    snprintf(c->last_update_a, sizeof c->last_update_a, "%s", a ? a : "");
    pthread_mutex_unlock(&c->mu);
}

static void on_delete(void *ud, const json_t *o)
{
    struct icount *c = ud;
    pthread_mutex_lock(&c->mu);
    c->deletes++;
    pthread_mutex_unlock(&c->mu);
}

static bool wait_count(struct icount *c, int adds, int updates, int deletes)
{
    int64_t end = sk_now_ms() + 5000;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        bool ok = c->adds == adds && c->updates == updates && c->deletes == deletes;
        pthread_mutex_unlock(&c->mu);
        if (ok) return true;
        if (sk_now_ms() > end) {
            fprintf(stderr, "informer: %d adds %d updates %d deletes, want %d %d %d\n", c->adds,
                    c->updates, c->deletes, adds, updates, deletes);
            return false;
        }
        sleep_ms(5);
    }
}

static int test_informer(void)
{
    sk_err err = SK_ERR_INIT;
    _sk_json_ json_t *pre = configmap("inf-0", "{\"inf\":\"1\"}");
    _sk_json_ json_t *c0 = sk_client_create(E.lc, E.cm, NS, pre, &err);
    REQUIRE(c0);
    struct icount cnt = {.mu = PTHREAD_MUTEX_INITIALIZER};
    sk_informer *inf = sk_informer_new(E.lc, E.cm, NS, "inf=1", NULL, 0);
    struct sk_informer_handlers h = {on_add, on_update, on_delete, &cnt};
    sk_informer_add_handlers(inf, &h);
    CHECK(sk_informer_start(inf, &err) == 0);
    CHECK(sk_informer_wait_synced(inf, 5000));
    CHECK(wait_count(&cnt, 1, 0, 0));
    CHECK_INT(sk_informer_count(inf), 1);

    _sk_json_ json_t *o1 = configmap("inf-1", "{\"inf\":\"1\"}");
    _sk_json_ json_t *c1 = sk_client_create(E.lc, E.cm, NS, o1, &err);
    _sk_json_ json_t *o2 = configmap("inf-2", "{\"inf\":\"0\"}"); /* filtered out */
    _sk_json_ json_t *c2 = sk_client_create(E.lc, E.cm, NS, o2, &err);
    CHECK(c1 && c2);
    CHECK(wait_count(&cnt, 2, 0, 0));
    _sk_json_ json_t *p = json_loads("{\"data\":{\"a\":\"9\"}}", 0, NULL);
    _sk_json_ json_t *m = sk_client_patch(E.lc, E.cm, NS, "inf-1", "application/merge-patch+json",
                                          p, NULL, &err);
    CHECK(m != NULL);
    CHECK(wait_count(&cnt, 2, 1, 0));
    CHECK_STR(cnt.last_update_a, "9");
    _sk_json_ json_t *cached = sk_informer_get(inf, NS, "inf-1");
    CHECK(cached && m && json_equal(cached, m));
    CHECK(sk_client_delete(E.lc, E.cm, NS, "inf-0", NULL, -1, NULL, &err) == 0);
    CHECK(wait_count(&cnt, 2, 1, 1));
    json_t *gone = sk_informer_get(inf, NS, "inf-0");
    CHECK(gone == NULL);
    json_decref(gone);
    CHECK_INT(sk_informer_count(inf), 1);
    sk_informer_free(inf);
    sk_err_clear(&err);
    return 0;
}

/* ---- compaction and stop --------------------------------------------------------------- */

static int test_compacted(void)
{
    sk_err err = SK_ERR_INIT;
    _sk_json_ json_t *o = configmap("churn", NULL);
    _sk_json_ json_t *c = sk_client_create(E.lc, E.cm, NS, o, &err);
    REQUIRE(c);
    for (int i = 0; i < 8; i++) {
        _sk_json_ json_t *p = json_pack("{s:{s:i}}", "metadata", "labels", 0);
        json_object_set_new(sk_json_path(p, "metadata.labels"), "n", json_sprintf("%d", i));
        _sk_json_ json_t *r = sk_client_patch(E.lc, E.cm, NS, "churn",
                                              "application/merge-patch+json", p, NULL, &err);
        CHECK(r != NULL);
    }
    int64_t compacted = sk_store_compact(E.st);
    CHECK(compacted > 2);
    sk_client *both[] = {E.lc, E.hc};
    for (size_t i = 0; i < 2; i++) {
        struct wcol w = {.mu = PTHREAD_MUTEX_INITIALIZER, .end_on = "ERROR"};
        int rc = sk_client_watch(both[i], E.cm, NS, "1", NULL, NULL, 5, collect, &w, NULL, &err);
        if (i == 0) CHECK_INT(rc, 0); /* over HTTPS our callback's -1 may end the transfer */
        CHECK_INT(events(&w), 1);
        CHECK_STR(w.ev[0].type, "ERROR");
        CHECK_INT(w.ev[0].code, 410);
    }
    sk_err_clear(&err);
    return 0;
}

static int test_after_stop(void)
{
    sk_apiserver_stop(E.api);
    sk_err err = SK_ERR_INIT;
    CHECK(sk_client_get(E.lc, E.cm, NS, "item-01", &err) == NULL);
    CHECK_INT(err.code, SK_EUNAVAILABLE);
    sk_err_clear(&err);
    long status = -1;
    json_t *r = sk_client_request(E.lc, "GET", "/healthz", NULL, NULL, &status, &err);
    CHECK(r == NULL);
    CHECK_INT(status, 0);
    CHECK_INT(err.code, SK_EUNAVAILABLE);
    json_decref(r);
    sk_err_clear(&err);
    struct wcol w = {.mu = PTHREAD_MUTEX_INITIALIZER};
    CHECK(sk_client_watch(E.lc, E.cm, NS, NULL, NULL, NULL, 1, collect, &w, NULL, &err) < 0);
    CHECK_INT(err.code, SK_EUNAVAILABLE);
    CHECK_INT(events(&w), 0);
    sk_err_clear(&err);
    json_t *reply = NULL;
    sk_buf raw = SK_BUF_INIT;
    CHECK(sk_apiserver_local_call(E.api, &E.ep.id, "GET", "/healthz", NULL, NULL, &status, &reply,
                                  &raw) < 0);
    CHECK(reply == NULL);
    CHECK_INT(raw.len, 0);
    sk_buf_release(&raw);
    return 0;
}

int main(void)
{
    snprintf(E.dir, sizeof E.dir, "/tmp/skiff-local-XXXXXX");
    REQUIRE(mkdtemp(E.dir));
    E.cm = sk_resource_find("", "v1", "configmaps");
    E.pods = sk_resource_find("", "v1", "pods");
    REQUIRE(E.cm && E.pods);
    sk_err err = SK_ERR_INIT;
    if (setup(&err) < 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        sk_err_clear(&err);
        teardown();
        return 1;
    }
    int rc = test_crud();
    rc |= test_pod_strategic();
    rc |= test_errors();
    rc |= test_requests();
    rc |= test_list();
    rc |= test_watch();
    rc |= test_watch_stop();
    rc |= test_informer();
    rc |= test_compacted();
    rc |= test_after_stop();
    teardown();
    return rc ? 1 : test_done();
}
