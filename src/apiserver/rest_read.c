/* GET of one object and LIST of collections (JSON or server-side Table),
 * with label/field selectors, limit/continue and resourceVersion rules. */
#include "apiserver/apiserver_int.h"

#include <stdio.h>
#include <string.h>

static const char *const always_fields[] = {"metadata.name", "metadata.namespace", NULL};

json_t *sk_rest_read(struct sk_apiserver *s, const struct sk_resource *r, const char *ns,
                     const char *name, int64_t *rev, sk_err *err)
{
    _sk_free_ char *key = sk_key(r, ns, name);
    sk_kv kv = {0};
    if (sk_store_get(s->store, key, &kv, err) < 0) {
        if (err->code == SK_ENOTFOUND) {
            char qn[128];
            sk_res_qualified(r, qn, sizeof qn);
            sk_err_set(err, SK_ENOTFOUND, "%s \"%s\" not found", qn, name);
        }
        return NULL;
    }
    json_t *o = sk_obj_load(kv.value, kv.value_len, kv.mod_rev);
    if (rev) *rev = kv.mod_rev;
    sk_kv_release(&kv);
    if (!o) sk_err_set(err, SK_EINTERNAL, "stored object %s is corrupt", key);
    return o;
}

static void reply_table(struct sk_req *q, const struct sk_resource *r, json_t **objs, size_t n,
                        int64_t rev, const char *cont)
{
    json_t *t = sk_table(r, (const json_t *const *)objs, n, true, sk_wall_ms() / 1000);
    json_t *meta = sk_json_obj(t, "metadata");
    char rv[32];
    snprintf(rv, sizeof rv, "%lld", (long long)rev);
    json_object_set_new(meta, "resourceVersion", json_string(rv));
    if (cont) json_object_set_new(meta, "continue", json_string(cont));
    sk_reply_json_ct(q, 200, t, "application/json;as=Table;v=v1;g=meta.k8s.io");
}

void sk_rest_get(struct sk_req *q, struct sk_route *rt)
{
    sk_err err = SK_ERR_INIT;
    const struct sk_resource *r = rt->res;
    if (sk_req_wants_table(q)) {
        int64_t rev;
        json_t *o = sk_rest_read(q->srv, r, rt->ns, rt->name, &rev, &err);
        if (!o) {
            sk_reply_err(q, &err, rt);
            sk_err_clear(&err);
            return;
        }
        reply_table(q, r, &o, 1, rev, NULL);
        json_decref(o);
        return;
    }
    _sk_free_ char *key = sk_key(r, rt->ns, rt->name);
    sk_kv kv = {0};
    if (sk_store_get(q->srv->store, key, &kv, &err) < 0) {
        if (err.code == SK_ENOTFOUND) {
            char qn[128];
            sk_res_qualified(r, qn, sizeof qn);
            sk_err_set(&err, SK_ENOTFOUND, "%s \"%s\" not found", qn, rt->name);
        }
        sk_reply_err(q, &err, rt);
        sk_err_clear(&err);
        return;
    }
    sk_buf b = SK_BUF_INIT;
    sk_obj_emit(&b, kv.value, kv.value_len, kv.mod_rev);
    sk_kv_release(&kv);
    sk_reply_take(q, 200, "application/json", &b);
}

/* Continue tokens: "<rev>.<hex of the last key>". Pages after the first
 * read the current state (not a snapshot at rev); rev only detects
 * compaction, as an expired token must. */
static char *make_continue(int64_t rev, const char *key)
{
    sk_buf b = SK_BUF_INIT;
    sk_buf_addf(&b, "%lld.", (long long)rev);
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) sk_buf_addf(&b, "%02x", *p);
    return sk_buf_take(&b);
}

static int parse_continue(const char *tok, int64_t *rev, char **key)
{
    char *end;
    long long r = strtoll(tok, &end, 10);
    if (end == tok || *end != '.' || r < 0) return -1;
    const char *h = end + 1;
    size_t n = strlen(h);
    if (n % 2 || n > 4096) return -1;
    char *k = sk_malloc(n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(h + 2 * i, "%2x", &v) != 1) {
            free(k);
            return -1;
        }
        k[i] = (char)v;
    }
    k[n / 2] = 0;
    *rev = r;
    *key = k;
    return 0;
}

bool sk_obj_matches(const json_t *o, const sk_selector *ls, const sk_fieldsel *fs)
{
    if (ls && !sk_selector_match(ls, sk_json_path(o, "metadata.labels"))) return false;
    if (fs && !sk_fieldsel_match(fs, o)) return false;
    return true;
}

int sk_parse_selectors(struct sk_req *q, const struct sk_resource *r, sk_selector **ls,
                       sk_fieldsel **fs, sk_err *err)
{
    *ls = NULL;
    *fs = NULL;
    const char *l = sk_req_arg(q, "labelSelector");
    if (l && *l) {
        *ls = sk_selector_parse(l, err);
        if (!*ls) return -1;
    }
    const char *f = sk_req_arg(q, "fieldSelector");
    if (f && *f) {
        const char *allowed[48];
        size_t n = 0;
        for (size_t i = 0; always_fields[i]; i++) allowed[n++] = always_fields[i];
        for (size_t i = 0; r->field_selectors && r->field_selectors[i] && n < 46; i++)
            allowed[n++] = r->field_selectors[i];
        allowed[n] = NULL;
        *fs = sk_fieldsel_parse(f, allowed, err);
        if (!*fs) {
            sk_selector_free(*ls);
            *ls = NULL;
            return -1;
        }
    }
    return 0;
}

void sk_rest_list(struct sk_req *q, struct sk_route *rt)
{
    _sk_free_ char *start = NULL, *prefix = NULL, *token = NULL;
    const struct sk_resource *r = rt->res;
    sk_err err = SK_ERR_INIT;
    sk_selector *ls = NULL;
    sk_fieldsel *fs = NULL;
    if (sk_parse_selectors(q, r, &ls, &fs, &err) < 0) {
        sk_reply_err(q, &err, rt);
        sk_err_clear(&err);
        return;
    }
    if (sk_req_arg_true(q, "watch")) {
        sk_rest_watch(q, rt, ls, fs); /* takes ls, fs */
        return;
    }
    const char *rvm = sk_req_arg(q, "resourceVersionMatch");
    const char *rvs = sk_req_arg(q, "resourceVersion");
    const char *lim = sk_req_arg(q, "limit");
    const char *cont = sk_req_arg(q, "continue");
    size_t limit = 0;
    if (lim && *lim) {
        char *end;
        long long v = strtoll(lim, &end, 10);
        if (*end || v < 0) {
            sk_err_set(&err, SK_EBADREQUEST, "invalid limit %s", lim);
            goto fail;
        }
        limit = (size_t)v;
    }
    if (rvm && *rvm && strcmp(rvm, "NotOlderThan") && strcmp(rvm, "Exact")) {
        sk_err_set(&err, SK_EBADREQUEST, "resourceVersionMatch: Unsupported value: \"%s\"", rvm);
        goto fail;
    }
    if (rvm && *rvm && (!rvs || !*rvs)) {
        sk_err_set(&err, SK_EBADREQUEST,
                   "resourceVersionMatch is forbidden unless resourceVersion is provided");
        goto fail;
    }
    int64_t cur = sk_store_rev(q->srv->store);
    if (rvs && *rvs) {
        char *end;
        long long want = strtoll(rvs, &end, 10);
        if (*end || want < 0) {
            sk_err_set(&err, SK_EBADREQUEST, "invalid resourceVersion \"%s\"", rvs);
            goto fail;
        }
        if (rvm && !strcmp(rvm, "Exact") && want != cur) {
            /* Only the current state is kept for reads. */
            sk_err_set(&err, SK_EGONE, "too old resource version: %lld (%lld)", want,
                       (long long)cur);
            goto fail;
        }
        if (want > cur) {
            sk_err_set(&err, SK_ETIMEOUT, "Too large resource version: %lld, current: %lld", want,
                       (long long)cur);
            goto fail;
        }
    }
    start = NULL;
    if (cont && *cont) {
        int64_t crev;
        if (parse_continue(cont, &crev, &start) < 0) {
            sk_err_set(&err, SK_EBADREQUEST, "continue key is not valid: invalid token");
            goto fail;
        }
        if (crev < sk_store_compact_rev(q->srv->store)) {
            sk_err_set(&err, SK_EGONE,
                       "The provided continue parameter is too old to display a consistent list "
                       "result. You can start a new list without the continue parameter.");
            goto fail;
        }
    }
    const char *ns = rt->has_ns ? rt->ns : NULL;
    if (!ns && fs && r->namespaced) ns = sk_fieldsel_pinned(fs, "metadata.namespace");
    prefix = sk_key_prefix(r, ns);
    bool table = sk_req_wants_table(q);
    bool filter = ls || fs;

    sk_buf out = SK_BUF_INIT;
    json_t **objs = NULL;
    size_t nobjs = 0, cap = 0;
    size_t count = 0;
    int64_t rev = cur;
    char *last_key = NULL;
    bool more = false, first = true;
    if (!table) {
        char lk[160];
        snprintf(lk, sizeof lk, "%sList", r->kind);
        char av[96];
        sk_resource_api_version(r, av, sizeof av);
        sk_buf_addf(&out, "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"items\":[", lk, av);
    }
    for (;;) {
        sk_kv *kvs = NULL;
        size_t n = 0;
        size_t page = limit ? (filter ? (limit > 500 ? limit : 500) : limit - count) : 0;
        int64_t prev;
        if (sk_store_range(q->srv->store, prefix, start, page, &kvs, &n, &more, &prev, &err) < 0) {
            sk_buf_release(&out);
            free(last_key);
            for (size_t i = 0; i < nobjs; i++) json_decref(objs[i]);
            free(objs);
            goto fail;
        }
        if (first) rev = prev;
        first = false;
        size_t i;
        for (i = 0; i < n && (!limit || count < limit); i++) {
            json_t *o = NULL;
            if (filter || table) {
                o = sk_obj_load(kvs[i].value, kvs[i].value_len, kvs[i].mod_rev);
                if (!o || !sk_obj_matches(o, ls, fs)) {
                    json_decref(o);
                    continue;
                }
            }
            if (table) {
                if (nobjs == cap) {
                    cap = cap ? cap * 2 : 64;
                    objs = sk_realloc(objs, cap * sizeof *objs);
                }
                objs[nobjs++] = o;
            } else {
                json_decref(o);
                if (count) sk_buf_adds(&out, ",");
                sk_obj_emit(&out, kvs[i].value, kvs[i].value_len, kvs[i].mod_rev);
            }
            count++;
            free(last_key);
            last_key = sk_strdup(kvs[i].key);
        }
        bool stopped_early = i < n;
        if (n) {
            free(start);
            start = sk_strdup(kvs[n - 1].key);
        }
        for (size_t k = 0; k < n; k++) sk_kv_release(&kvs[k]);
        free(kvs);
        if (stopped_early) {
            more = true;
            break;
        }
        if (!more || (limit && count >= limit) || !page) break;
    }
    token = (more && limit && last_key) ? make_continue(rev, last_key) : NULL;
    free(last_key);
    if (table) {
        reply_table(q, r, objs, nobjs, rev, token);
        for (size_t i = 0; i < nobjs; i++) json_decref(objs[i]);
        free(objs);
    } else {
        sk_buf_addf(&out, "],\"metadata\":{\"resourceVersion\":\"%lld\"", (long long)rev);
        if (token) sk_buf_addf(&out, ",\"continue\":\"%s\"", token);
        sk_buf_adds(&out, "}}");
        sk_reply_take(q, 200, "application/json", &out);
    }
    sk_selector_free(ls);
    sk_fieldsel_free(fs);
    return;
fail:
    sk_selector_free(ls);
    sk_fieldsel_free(fs);
    sk_reply_err(q, &err, rt);
    sk_err_clear(&err);
}
