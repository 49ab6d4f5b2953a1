/* The informer's cache: a jansson object used as a hash map from
 * "ns/name" to the latest object, plus two indexes kept in step with it
 * (namespace -> objects, controller owner uid -> objects). One rwlock
 * guards all three; readers get new references to the shared values,
 * which are never modified after being stored. */
#include "client/client_int.h"

#include <string.h>

void sk__icache_init(struct sk_icache *ic, bool namespaced)
{
    pthread_rwlock_init(&ic->rw, NULL);
    ic->namespaced = namespaced;
    ic->objs = json_object();
    ic->by_ns = json_object();
    ic->by_owner = json_object();
}

void sk__icache_release(struct sk_icache *ic)
{
    json_decref(ic->objs);
    json_decref(ic->by_ns);
    json_decref(ic->by_owner);
    ic->objs = ic->by_ns = ic->by_owner = NULL;
    pthread_rwlock_destroy(&ic->rw);
}

static const char *obj_ns(const json_t *obj)
{
    const char *ns = sk_json_path_str(obj, "metadata.namespace");
    return ns ? ns : "";
}

/* uid of the ownerReference with controller=true, or "" for objects with
 * no controller: orphans get their own bucket so controllers can find
 * adoption candidates without scanning every object. */
static const char *controller_uid(const json_t *obj)
{
    json_t *refs = sk_json_path(obj, "metadata.ownerReferences");
    size_t i;
    json_t *ref;
    if (!json_is_array(refs)) return "";
    json_array_foreach(refs, i, ref) {
        if (json_is_true(json_object_get(ref, "controller"))) {
            const char *uid = sk_json_str(ref, "uid");
            return uid ? uid : "";
        }
    }
    return "";
}

static void index_add(json_t *idx, const char *bucket, const char *key, json_t *obj)
{
    if (!bucket) return;
    json_t *b = json_object_get(idx, bucket);
    if (!b) {
        b = json_object();
        json_object_set_new_nocheck(idx, bucket, b);
    }
    json_object_set_nocheck(b, key, obj);
}

static void index_del(json_t *idx, const char *bucket, const char *key)
{
    if (!bucket) return;
    json_t *b = json_object_get(idx, bucket);
    if (!b) return;
    json_object_del(b, key);
    if (!json_object_size(b)) json_object_del(idx, bucket);
}

static void index_both(struct sk_icache *ic, const char *key, json_t *obj)
{
    index_add(ic->by_ns, obj_ns(obj), key, obj);
    index_add(ic->by_owner, controller_uid(obj), key, obj);
}

json_t *sk__icache_put(struct sk_icache *ic, const char *key, json_t *obj)
{
    pthread_rwlock_wrlock(&ic->rw);
    json_t *old = json_incref(json_object_get(ic->objs, key));
    if (old) {
        index_del(ic->by_ns, obj_ns(old), key);
        index_del(ic->by_owner, controller_uid(old), key);
    }
    json_object_set_nocheck(ic->objs, key, obj);
    index_both(ic, key, obj);
    pthread_rwlock_unlock(&ic->rw);
    return old;
}

json_t *sk__icache_del(struct sk_icache *ic, const char *key)
{
    pthread_rwlock_wrlock(&ic->rw);
    json_t *old = json_incref(json_object_get(ic->objs, key));
    if (old) {
        index_del(ic->by_ns, obj_ns(old), key);
        index_del(ic->by_owner, controller_uid(old), key);
        json_object_del(ic->objs, key);
    }
    pthread_rwlock_unlock(&ic->rw);
    return old;
}

static bool same_rv(const json_t *a, const json_t *b)
{
    const char *ra = sk_json_path_str(a, "metadata.resourceVersion");
    const char *rb = sk_json_path_str(b, "metadata.resourceVersion");
    return ra && rb && !strcmp(ra, rb);
}

void sk__icache_replace(struct sk_icache *ic, json_t *fresh, json_t *added, json_t *updated,
                        json_t *deleted)
{
    json_t *by_ns = json_object(), *by_owner = json_object();
    const char *key;
    json_t *obj;
    pthread_rwlock_wrlock(&ic->rw);
    json_object_foreach(fresh, key, obj) {
        json_t *old = json_object_get(ic->objs, key);
        if (!old) json_array_append(added, obj);
        else if (!same_rv(old, obj)) json_array_append_new(updated, json_pack("[OO]", old, obj));
        index_add(by_ns, obj_ns(obj), key, obj);
        index_add(by_owner, controller_uid(obj), key, obj);
    }
    json_object_foreach(ic->objs, key, obj) {
        if (!json_object_get(fresh, key)) json_array_append(deleted, obj);
    }
    json_decref(ic->objs);
    json_decref(ic->by_ns);
    json_decref(ic->by_owner);
    ic->objs = fresh;
    ic->by_ns = by_ns;
    ic->by_owner = by_owner;
    pthread_rwlock_unlock(&ic->rw);
}

json_t *sk__icache_all(struct sk_icache *ic)
{
    json_t *out = json_array();
    const char *key;
    json_t *obj;
    pthread_rwlock_rdlock(&ic->rw);
    json_object_foreach(ic->objs, key, obj) json_array_append(out, obj);
    pthread_rwlock_unlock(&ic->rw);
    return out;
}

/* ---- public reads ----------------------------------------------------------- */

json_t *sk_informer_get(sk_informer *inf, const char *ns, const char *name)
{
    struct sk_icache *ic = sk__informer_cache(inf);
    if (!name) return NULL;
    _sk_free_ char *key = ic->namespaced && ns && *ns ? sk_printf("%s/%s", ns, name)
                                                      : sk_strdup(name);
    pthread_rwlock_rdlock(&ic->rw);
    json_t *o = json_incref(json_object_get(ic->objs, key));
    pthread_rwlock_unlock(&ic->rw);
    return o;
}

json_t *sk_informer_list(sk_informer *inf, const char *ns, const sk_selector *sel)
{
    struct sk_icache *ic = sk__informer_cache(inf);
    json_t *out = json_array();
    const char *key;
    json_t *obj;
    pthread_rwlock_rdlock(&ic->rw);
    json_t *src = ic->namespaced && ns ? json_object_get(ic->by_ns, ns) : ic->objs;
    json_object_foreach(src, key, obj) {
        if (sk_selector_match(sel, sk_json_path(obj, "metadata.labels")))
            json_array_append(out, obj);
    }
    pthread_rwlock_unlock(&ic->rw);
    return out;
}

json_t *sk_informer_list_owned(sk_informer *inf, const char *ns, const char *owner_uid)
{
    struct sk_icache *ic = sk__informer_cache(inf);
    json_t *out = json_array();
    const char *key;
    json_t *obj;
    if (!owner_uid) return out;
    pthread_rwlock_rdlock(&ic->rw);
    json_object_foreach(json_object_get(ic->by_owner, owner_uid), key, obj) {
        if (!ic->namespaced || !ns || !strcmp(obj_ns(obj), ns)) json_array_append(out, obj);
    }
    pthread_rwlock_unlock(&ic->rw);
    return out;
}

size_t sk_informer_count(sk_informer *inf)
{
    struct sk_icache *ic = sk__informer_cache(inf);
    pthread_rwlock_rdlock(&ic->rw);
    size_t n = json_object_size(ic->objs);
    pthread_rwlock_unlock(&ic->rw);
    return n;
}
