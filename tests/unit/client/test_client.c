/* sk_client against a real `skiff server` (path in $SKIFF; skipped with 77
 * when unset): CRUD and error codes, selectors, paged lists, watch,
 * informers (including a relist across a server restart), the event
 * recorder's aggregation and leader election. */
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "client/client.h"
#include "unit/test.h"

/* REQUIRE for void test functions */
#define REQUIRE_V(c) \
    do { if (!(c)) { fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #c); \
                     test_failures++; return; } } while (0)

static const char *skiff;
static char dir[256], kubeconfig[300];
static int port;
static pid_t server = -1;

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static void server_kill(void)
{
    if (server <= 0) return;
    kill(server, SIGKILL);
    waitpid(server, NULL, 0);
    server = -1;
}

static bool server_start(void)
{
    char portstr[16], logp[300];
    snprintf(portstr, sizeof portstr, "%d", port);
    snprintf(logp, sizeof logp, "%s/server.log", dir);
    server = fork();
    if (server == 0) {
        int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        char data[300];
        snprintf(data, sizeof data, "%s/data", dir);
        /* a bare API server: the garbage collector would delete the test's
         * objects owned by made-up uids */
        execl(skiff, skiff, "server", "--data-dir", data, "--port", portstr, "--disable-agent",
              "--disable-controllers", "all", "--disable-scheduler", (char *)NULL);
        _exit(127);
    }
    /* ready when the kubeconfig exists and /readyz answers */
    for (int i = 0; i < 400; i++) {
        if (waitpid(server, NULL, WNOHANG) == server) {
            server = -1;
            return false;
        }
        sk_err err = SK_ERR_INIT;
        sk_client *c = access(kubeconfig, R_OK) == 0
                           ? sk_client_from_kubeconfig(kubeconfig, "test", &err) : NULL;
        long st = 0;
        json_t *r = c ? sk_client_request(c, "GET", "/readyz", NULL, NULL, &st, &err) : NULL;
        json_decref(r);
        sk_client_free(c);
        if (st == 200) return true;
        msleep(25);
    }
    return false;
}

static const struct sk_resource *cm_res(void) { return sk_resource_find("", "v1", "configmaps"); }

static json_t *cm(const char *ns, const char *name, const char *app)
{
    json_t *o = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s}}", "apiVersion", "v1", "kind",
                          "ConfigMap", "metadata", "name", name, "namespace", ns, "data", "k",
                          "v");
    if (app) json_object_set_new(json_object_get(o, "metadata"), "labels",
                                 json_pack("{s:s}", "app", app));
    return o;
}

static void make_ns(sk_client *c, const char *ns)
{
    sk_err err = SK_ERR_INIT;
    json_t *o = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                          "metadata", "name", ns);
    json_t *r = sk_client_create(c, sk_resource_find("", "v1", "namespaces"), NULL, o, &err);
    CHECK(r != NULL);
    json_decref(r);
    json_decref(o);
}

/* ---- CRUD ----------------------------------------------------------------- */

static void test_crud(sk_client *c)
{
    const struct sk_resource *r = cm_res();
    sk_err err = SK_ERR_INIT;
    json_t *o = cm("default", "crud", NULL);
    json_t *made = sk_client_create(c, r, "default", o, &err);
    REQUIRE_V(made);
    CHECK_STR(sk_json_path_str(made, "metadata.name"), "crud");
    json_t *dup = sk_client_create(c, r, "default", o, &err);
    CHECK(dup == NULL);
    CHECK_INT(err.code, SK_EEXIST);
    CHECK(strstr(err.msg, "already exists") != NULL);

    json_t *got = sk_client_get(c, r, "default", "crud", &err);
    CHECK(got && json_equal(got, made));
    json_object_set_new(json_object_get(got, "data"), "k", json_string("v2"));
    json_t *upd = sk_client_update(c, r, NULL, got, NULL, &err);
    CHECK_STR(sk_json_path_str(upd, "data.k"), "v2");
    /* a stale resourceVersion conflicts */
    json_t *stale = sk_client_update(c, r, "default", made, NULL, &err);
    CHECK(stale == NULL);
    CHECK_INT(err.code, SK_ECONFLICT);

    json_t *patch = json_pack("{s:{s:s}}", "data", "p", "q");
    json_t *pat = sk_client_patch(c, r, "default", "crud", "application/merge-patch+json", patch,
                                  NULL, &err);
    CHECK_STR(sk_json_path_str(pat, "data.p"), "q");
    CHECK_STR(sk_json_path_str(pat, "data.k"), "v2");

    CHECK(sk_client_delete(c, r, "default", "crud", "Background", 0,
                           sk_json_path_str(made, "metadata.uid"), &err) == 0);
    json_t *gone = sk_client_get(c, r, "default", "crud", &err);
    CHECK(gone == NULL);
    CHECK_INT(err.code, SK_ENOTFOUND);
    CHECK_STR(err.msg, "configmaps \"crud\" not found");
    CHECK(sk_client_delete(c, r, "default", "crud", NULL, -1, NULL, &err) < 0);
    CHECK_INT(err.code, SK_ENOTFOUND);

    json_t *bad = cm("default", "Bad_Name", NULL);
    CHECK(sk_client_create(c, r, "default", bad, &err) == NULL);
    CHECK_INT(err.code, SK_EINVALID);
    CHECK(sk_client_get(c, r, NULL, "x", &err) == NULL);
    CHECK_INT(err.code, SK_EINVALID);

    long st = 0;
    json_t *v = sk_client_request(c, "GET", "/version", NULL, NULL, &st, &err);
    CHECK_INT(st, 200);
    CHECK(sk_json_str(v, "gitVersion") != NULL);
    json_t *nf = sk_client_request(c, "GET", "/api/v1/namespaces/default/pods/nope", NULL, NULL,
                                   &st, &err);
    CHECK_INT(st, 404);
    CHECK_INT(err.code, SK_ENOTFOUND);
    CHECK_STR(sk_json_str(nf, "kind"), "Status");

    json_decref(nf);
    json_decref(v);
    json_decref(bad);
    json_decref(patch);
    json_decref(pat);
    json_decref(upd);
    json_decref(got);
    json_decref(made);
    json_decref(o);
}

struct filler {
    sk_client *c;
    int from, to;
    int failed;
};

static void *fill(void *arg)
{
    struct filler *f = arg;
    for (int i = f->from; i < f->to; i++) {
        char name[32];
        snprintf(name, sizeof name, "c%03d", i);
        json_t *o = cm("lists", name, i % 100 == 0 ? "sel" : "other");
        sk_err err = SK_ERR_INIT;
        json_t *m = sk_client_create(f->c, cm_res(), NULL, o, &err);
        if (!m) f->failed++;
        json_decref(m);
        json_decref(o);
    }
    return NULL;
}

static void test_list(sk_client *c)
{
    const struct sk_resource *r = cm_res();
    sk_err err = SK_ERR_INIT;
    make_ns(c, "lists");
    /* more than one page (500) to follow continue tokens; four writers
     * share the client (one connection each) */
    struct filler f[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        f[i] = (struct filler){c, i * 130, (i + 1) * 130, 0};
        pthread_create(&t[i], NULL, fill, &f[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(f[i].failed, 0);
    }
    json_t *all = sk_client_list(c, r, "lists", NULL, NULL, &err);
    CHECK_INT(json_array_size(json_object_get(all, "items")), 520);
    CHECK(sk_json_path_str(all, "metadata.resourceVersion") != NULL);
    CHECK(sk_json_path(all, "metadata.continue") == NULL);
    json_t *sel = sk_client_list(c, r, "lists", "app=sel", NULL, &err);
    CHECK_INT(json_array_size(json_object_get(sel, "items")), 6);
    json_t *fs = sk_client_list(c, r, NULL, NULL, "metadata.name=c007", &err);
    CHECK_INT(json_array_size(json_object_get(fs, "items")), 1);
    CHECK_STR(sk_json_str(json_array_get(json_object_get(fs, "items"), 0), "kind"), "ConfigMap");
    json_t *bad = sk_client_list(c, r, NULL, "a in (", NULL, &err);
    CHECK(bad == NULL);
    CHECK_INT(err.code, SK_EBADREQUEST);
    json_decref(all);
    json_decref(sel);
    json_decref(fs);
}

/* ---- watch ---------------------------------------------------------------- */

struct wstate {
    sk_client *c;
    char rv[32];
    volatile int stop;
    pthread_mutex_t lock;
    char types[16][16];
    int n, rc;
    int64_t ended;
};

static int wcb(void *ud, const char *type, json_t *obj)
{
    struct wstate *w = ud;
    if (!strcmp(type, "BOOKMARK")) return 0;
    pthread_mutex_lock(&w->lock);
    if (w->n < 16) snprintf(w->types[w->n++], 16, "%s", type);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

static void *watch_thread(void *arg)
{
    struct wstate *w = arg;
    sk_err err = SK_ERR_INIT;
    w->rc = sk_client_watch(w->c, cm_res(), "default", w->rv, NULL, "metadata.name=w1", 30, wcb,
                            w, &w->stop, &err);
    w->ended = sk_now_ms();
    return NULL;
}

static int wcount(struct wstate *w)
{
    pthread_mutex_lock(&w->lock);
    int n = w->n;
    pthread_mutex_unlock(&w->lock);
    return n;
}

static void test_watch(sk_client *c)
{
    const struct sk_resource *r = cm_res();
    sk_err err = SK_ERR_INIT;
    json_t *l = sk_client_list(c, r, "default", NULL, NULL, &err);
    struct wstate w = {.c = c};
    pthread_mutex_init(&w.lock, NULL);
    snprintf(w.rv, sizeof w.rv, "%s", sk_json_path_str(l, "metadata.resourceVersion"));
    json_decref(l);
    pthread_t t;
    pthread_create(&t, NULL, watch_thread, &w);
    json_t *o = cm("default", "w1", NULL);
    json_decref(sk_client_create(c, r, NULL, o, &err));
    json_t *p = json_pack("{s:{s:s}}", "data", "x", "y");
    json_decref(sk_client_patch(c, r, "default", "w1", NULL, p, NULL, &err));
    CHECK(sk_client_delete(c, r, "default", "w1", NULL, -1, NULL, &err) == 0);
    for (int i = 0; i < 200 && wcount(&w) < 3; i++) msleep(10);
    msleep(200); /* idle stream: stop must still be prompt */
    int64_t t0 = sk_now_ms();
    __atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    CHECK(w.ended - t0 < 1000); /* ~100 ms; slack for loaded or sanitized runs */
    CHECK_INT(w.rc, 0);
    CHECK_INT(w.n, 3);
    CHECK_STR(w.types[0], "ADDED");
    CHECK_STR(w.types[1], "MODIFIED");
    CHECK_STR(w.types[2], "DELETED");
    pthread_mutex_destroy(&w.lock);
    json_decref(o);
    json_decref(p);
}

/* ---- informer ------------------------------------------------------------- */

struct counts {
    atomic_int add, upd, del, resync;
};

static void h_add(void *ud, const json_t *o) { atomic_fetch_add(&((struct counts *)ud)->add, 1); }
static void h_upd(void *ud, const json_t *a, const json_t *b)
{
    struct counts *n = ud;
    if (a == b) atomic_fetch_add(&n->resync, 1);
    else atomic_fetch_add(&n->upd, 1);
}
static void h_del(void *ud, const json_t *o) { atomic_fetch_add(&((struct counts *)ud)->del, 1); }

#define WAIT_FOR(cond) \
    do { for (int _i = 0; _i < 500 && !(cond); _i++) msleep(10); CHECK(cond); } while (0)

static json_t *owned_cm(const char *name, const char *app, const char *owner)
{
    json_t *o = cm("inf", name, app);
    json_object_set_new(json_object_get(o, "metadata"), "ownerReferences",
                        json_pack("[{s:s,s:s,s:s,s:s,s:b}]", "apiVersion", "v1", "kind",
                                  "ConfigMap", "name", "owner", "uid", owner, "controller", 1));
    return o;
}

static void test_informer(sk_client *c)
{
    const struct sk_resource *r = cm_res();
    sk_err err = SK_ERR_INIT;
    make_ns(c, "inf");
    json_t *o = owned_cm("pre", "a", "u1");
    json_decref(sk_client_create(c, r, NULL, o, &err));
    json_decref(o);

    struct counts n = {0};
    sk_informer *inf = sk_informer_new(c, r, NULL, NULL, NULL, 300);
    struct sk_informer_handlers h = {h_add, h_upd, h_del, &n};
    sk_informer_add_handlers(inf, &h);
    REQUIRE_V(sk_informer_start(inf, &err) == 0);
    CHECK(sk_informer_wait_synced(inf, 5000));
    CHECK(atomic_load(&n.add) >= 1);
    json_t *g = sk_informer_get(inf, "inf", "pre");
    CHECK_STR(sk_json_str(g, "kind"), "ConfigMap");
    json_decref(g);

    int adds = atomic_load(&n.add);
    o = owned_cm("second", "b", "u1");
    json_decref(sk_client_create(c, r, NULL, o, &err));
    json_decref(o);
    o = owned_cm("third", "a", "u2");
    json_decref(sk_client_create(c, r, NULL, o, &err));
    json_decref(o);
    WAIT_FOR(atomic_load(&n.add) == adds + 2);

    json_t *lst = sk_informer_list(inf, "inf", NULL);
    CHECK_INT(json_array_size(lst), 3);
    json_decref(lst);
    sk_selector *sel = sk_selector_parse("app=a", &err);
    lst = sk_informer_list(inf, "inf", sel);
    CHECK_INT(json_array_size(lst), 2);
    json_decref(lst);
    lst = sk_informer_list(inf, "nope", sel);
    CHECK_INT(json_array_size(lst), 0);
    json_decref(lst);
    sk_selector_free(sel);
    lst = sk_informer_list_owned(inf, "inf", "u1");
    CHECK_INT(json_array_size(lst), 2);
    json_decref(lst);

    json_t *p = json_pack("{s:{s:[]}}", "metadata", "ownerReferences");
    json_decref(sk_client_patch(c, r, "inf", "second", NULL, p, NULL, &err));
    json_decref(p);
    WAIT_FOR(atomic_load(&n.upd) >= 1);
    lst = sk_informer_list_owned(inf, "inf", "u1");
    CHECK_INT(json_array_size(lst), 1);
    json_decref(lst);
    CHECK(sk_client_delete(c, r, "inf", "third", NULL, -1, NULL, &err) == 0);
    WAIT_FOR(atomic_load(&n.del) == 1);
    CHECK(sk_informer_get(inf, "inf", "third") == NULL);
    lst = sk_informer_list_owned(inf, "inf", "u2");
    CHECK_INT(json_array_size(lst), 0);
    json_decref(lst);
    WAIT_FOR(atomic_load(&n.resync) > 0); /* resync every 300 ms while idle */

    /* the server goes away and comes back: relist, then events again */
    size_t before = sk_informer_count(inf);
    server_kill();
    msleep(150);
    CHECK(server_start()); /* on failure, go on so the informer is still freed */
    o = owned_cm("after-restart", "c", "u3");
    for (int i = 0; i < 100; i++) {
        json_t *m = sk_client_create(c, r, NULL, o, &err);
        json_decref(m);
        if (m || err.code == SK_EEXIST) break;
        msleep(20);
    }
    json_decref(o);
    WAIT_FOR(sk_informer_count(inf) == before + 1);
    g = sk_informer_get(inf, "inf", "after-restart");
    CHECK(g != NULL);
    json_decref(g);
    CHECK_INT(atomic_load(&n.del), 1);

    int64_t t0 = sk_now_ms();
    sk_informer_stop(inf);
    CHECK(sk_now_ms() - t0 < 1000);
    sk_informer_free(inf);
}

/* ---- events ----------------------------------------------------------------- */

static void test_recorder(sk_client *c)
{
    const struct sk_resource *evr = sk_resource_find("", "v1", "events");
    sk_err err = SK_ERR_INIT;
    json_t *pod = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s}}", "apiVersion", "v1", "kind", "Pod",
                            "metadata", "name", "evpod", "namespace", "default", "uid",
                            "11111111-2222-3333-4444-555555555555", "resourceVersion", "7");
    sk_recorder *rec = sk_recorder_new(c, "test-controller", NULL);
    sk_event(rec, pod, "Normal", "SuccessfulCreate", "Created pod: %s", "evpod");
    sk_event(rec, pod, "Normal", "SuccessfulCreate", "Created pod: %s", "evpod");
    sk_event(rec, pod, "Warning", "Other", "different");
    json_t *items = NULL;
    for (int i = 0; i < 300; i++) {
        json_t *l = sk_client_list(c, evr, "default", NULL, "involvedObject.name=evpod", &err);
        json_decref(items);
        items = json_incref(json_object_get(l, "items"));
        json_decref(l);
        json_t *ev = json_array_get(items, 0);
        if (json_array_size(items) == 2 &&
            json_integer_value(json_object_get(ev, "count")) +
                    json_integer_value(json_object_get(json_array_get(items, 1), "count")) == 3)
            break;
        msleep(10);
    }
    CHECK_INT(json_array_size(items), 2);
    size_t i;
    json_t *ev;
    json_array_foreach(items, i, ev) {
        const char *reason = sk_json_str(ev, "reason");
        bool created = reason && !strcmp(reason, "SuccessfulCreate");
        CHECK_INT(json_integer_value(json_object_get(ev, "count")), created ? 2 : 1);
        CHECK_STR(sk_json_path_str(ev, "involvedObject.kind"), "Pod");
        CHECK_STR(sk_json_path_str(ev, "involvedObject.uid"),
                  "11111111-2222-3333-4444-555555555555");
        CHECK_STR(sk_json_path_str(ev, "source.component"), "test-controller");
        CHECK(!strncmp(sk_json_path_str(ev, "metadata.name"), "evpod.", 6));
        if (created) CHECK_STR(sk_json_str(ev, "message"), "Created pod: evpod");
    }
    json_decref(items);
    sk_recorder_free(rec);
    json_decref(pod);
}

/* ---- leader election ---------------------------------------------------------- */

struct lstate {
    atomic_int started, stopped;
};

static void l_start(void *ud) { atomic_fetch_add(&((struct lstate *)ud)->started, 1); }
static void l_stop(void *ud) { atomic_fetch_add(&((struct lstate *)ud)->stopped, 1); }

static void test_leader(sk_client *c)
{
    sk_err err = SK_ERR_INIT;
    struct lstate s1 = {0}, s2 = {0};
    sk_leader *a = sk_leader_new(c, "default", "test-lease", "alpha", 1000, 700, 100, l_start,
                                 l_stop, &s1);
    sk_leader *b = sk_leader_new(c, "default", "test-lease", "beta", 1000, 700, 100, l_start,
                                 l_stop, &s2);
    REQUIRE_V(sk_leader_start(a, &err) == 0);
    REQUIRE_V(sk_leader_start(b, &err) == 0);
    WAIT_FOR(sk_leader_is_leader(a) || sk_leader_is_leader(b));
    msleep(1500); /* longer than a lease: the leader keeps renewing */
    bool la = sk_leader_is_leader(a), lb = sk_leader_is_leader(b);
    CHECK(la != lb);
    sk_leader *winner = la ? a : b, *loser = la ? b : a;
    struct lstate *ws = la ? &s1 : &s2, *ls = la ? &s2 : &s1;
    WAIT_FOR(atomic_load(&ws->started) == 1);
    CHECK_INT(atomic_load(&ls->started), 0);

    sk_leader_free(winner);
    int64_t t0 = sk_now_ms();
    WAIT_FOR(sk_leader_is_leader(loser));
    CHECK(sk_now_ms() - t0 < 1200);
    WAIT_FOR(atomic_load(&ls->started) == 1);
    CHECK_INT(atomic_load(&ws->stopped), 0);

    json_t *lease = sk_client_get(c, sk_resource_find("coordination.k8s.io", "v1", "leases"),
                                  "default", "test-lease", &err);
    CHECK_STR(sk_json_path_str(lease, "spec.holderIdentity"), la ? "beta" : "alpha");
    CHECK(json_integer_value(sk_json_path(lease, "spec.leaseTransitions")) >= 1);
    const char *renew = sk_json_path_str(lease, "spec.renewTime");
    CHECK(renew && strlen(renew) == 27 && renew[19] == '.');
    json_decref(lease);
    sk_leader_free(loser);
}

/* ---- credentials ---------------------------------------------------------------- */

static void test_kubeconfig_variants(void)
{
    sk_err err = SK_ERR_INIT;
    char path[400], tokpath[400];
    snprintf(path, sizeof path, "%s/files.kubeconfig", dir);
    FILE *f = fopen(path, "w");
    REQUIRE_V(f);
    fprintf(f,
            "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
            "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:%d\n"
            "    certificate-authority: data/pki/ca.crt\n"
            "users:\n- name: u\n  user:\n    client-certificate: data/pki/admin.crt\n"
            "    client-key: data/pki/admin.key\n"
            "contexts:\n- name: x\n  context: {cluster: c, user: u}\n",
            port);
    fclose(f);
    sk_client *c = sk_client_from_kubeconfig(path, "t", &err);
    REQUIRE_V(c);
    json_t *l = sk_client_list(c, sk_resource_find("", "v1", "namespaces"), NULL, NULL, NULL, &err);
    CHECK(l != NULL);
    json_decref(l);
    sk_client_free(c);

    /* bearer token + CA only */
    snprintf(tokpath, sizeof tokpath, "%s/data/tokens.csv", dir);
    size_t len;
    char *csv = sk_read_file(tokpath, &len, &err);
    REQUIRE_V(csv);
    csv[strcspn(csv, ",")] = 0;
    char cap[400];
    snprintf(cap, sizeof cap, "%s/data/pki/ca.crt", dir);
    char *ca = sk_read_file(cap, &len, &err);
    char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%d", port);
    struct sk_client_config cfg = {.server = url, .ca_pem = ca, .token = csv};
    c = sk_client_new(&cfg, &err);
    l = c ? sk_client_list(c, sk_resource_find("", "v1", "namespaces"), NULL, NULL, NULL, &err)
          : NULL;
    CHECK(l != NULL);
    json_decref(l);
    sk_client_free(c);
    /* a wrong token is Unauthorized */
    cfg.token = "nope";
    c = sk_client_new(&cfg, &err);
    l = sk_client_list(c, sk_resource_find("", "v1", "namespaces"), NULL, NULL, NULL, &err);
    CHECK(l == NULL);
    CHECK_INT(err.code, SK_EUNAUTHORIZED);
    sk_client_free(c);
    /* a CA that did not sign the server's certificate: verification fails */
    snprintf(cap, sizeof cap, "%s/data/pki/admin.crt", dir);
    char *wrong = sk_read_file(cap, &len, &err);
    cfg.ca_pem = wrong;
    cfg.token = csv;
    c = sk_client_new(&cfg, &err);
    l = sk_client_list(c, sk_resource_find("", "v1", "namespaces"), NULL, NULL, NULL, &err);
    CHECK(l == NULL);
    CHECK_INT(err.code, SK_EUNAVAILABLE);
    CHECK(strstr(err.msg, "certificate") != NULL || strstr(err.msg, "SSL") != NULL);
    sk_client_free(c);
    /* client-side rate limit: qps 20 allows a burst of 40, then 20/s */
    cfg.ca_pem = ca;
    cfg.qps = 20;
    c = sk_client_new(&cfg, &err);
    int64_t t0 = sk_now_ms();
    for (int i = 0; i < 50; i++) {
        long st = 0;
        json_decref(sk_client_request(c, "GET", "/version", NULL, NULL, &st, &err));
        CHECK_INT(st, 200);
    }
    CHECK(sk_now_ms() - t0 >= 400);
    sk_client_free(c);
    free(ca);
    free(wrong);
    free(csv);
    CHECK(sk_client_from_kubeconfig("/nonexistent/kubeconfig", "t", &err) == NULL);
}

static void run(sk_client *c)
{
    int64_t t = sk_now_ms();
#define STEP(f, ...) do { f(__VA_ARGS__); fprintf(stderr, "%-28s %5lld ms\n", #f, \
                          (long long)(sk_now_ms() - t)); t = sk_now_ms(); } while (0)
    STEP(test_crud, c);
    STEP(test_list, c);
    STEP(test_watch, c);
    STEP(test_kubeconfig_variants);
    STEP(test_recorder, c);
    STEP(test_leader, c);
    STEP(test_informer, c);
}

int main(void)
{
    skiff = getenv("SKIFF");
    if (!skiff || !*skiff) {
        fprintf(stderr, "SKIFF not set: skipping\n");
        return 77;
    }
    snprintf(dir, sizeof dir, "%s/skiff-client-test-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    REQUIRE(mkdtemp(dir));
    snprintf(kubeconfig, sizeof kubeconfig, "%s/data/kubeconfig", dir);
    srand((unsigned)(getpid() ^ time(NULL)));
    bool up = false;
    for (int tries = 0; tries < 5 && !up; tries++) {
        port = 20000 + rand() % 10000;
        if (!(up = server_start())) server_kill();
    }
    if (!up) {
        fprintf(stderr, "server did not start (see %s/server.log)\n", dir);
        return 1;
    }
    sk_err err = SK_ERR_INIT;
    sk_client *c = sk_client_from_kubeconfig(kubeconfig, "skiff-client-test", &err);
    if (c) {
        run(c);
    } else {
        fprintf(stderr, "client: %s\n", err.msg);
        test_failures++;
    }
    sk_client_free(c);
    server_kill();
    if (!getenv("KEEP")) nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return test_done();
}
