/* Process-wide table of shared immutable JSON values (sk_json_intern).
 *
 * Informer caches keep trimmed objects whose subtrees repeat from object
 * to object (every pod of a ReplicaSet has the same labels, owner
 * reference, default tolerations and containers); in jansson each copy
 * costs 10-20x its text. Values are found by a structural hash and
 * confirmed with json_equal; the table holds one reference to each and
 * drops values that nobody else references when a shard fills up. */
#include "client/client_int.h"

#include <string.h>

#define SHARDS 16
#define SHARD_SLOTS 4096         /* power of two */
#define SHARD_MAX (SHARD_SLOTS / 2)
#define MAX_NODES 256            /* bigger values are not shared */

struct slot {
    uint64_t hash;
    json_t *v; /* NULL = empty */
};

static struct shard {
    pthread_mutex_t lock;
    struct slot slots[SHARD_SLOTS];
    size_t n;
} shards[SHARDS] = {[0 ... SHARDS - 1] = {.lock = PTHREAD_MUTEX_INITIALIZER}};

static uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static uint64_t str_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* Hash that json_equal-equal values share (object members in any order);
 * *nodes counts the values visited, and the walk stops past MAX_NODES. */
static uint64_t hash_value(const json_t *v, size_t *nodes)
{
    if (++*nodes > MAX_NODES) return 0;
    uint64_t h = (uint64_t)json_typeof(v) + 1;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *m;
        uint64_t sum = 0;
        json_object_foreach((json_t *)v, k, m) sum += mix(str_hash(k, strlen(k)), hash_value(m, nodes));
        return mix(h, sum);
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m) h = mix(h, hash_value(m, nodes));
        return h;
    }
    case JSON_STRING: return mix(h, str_hash(json_string_value(v), json_string_length(v)));
    case JSON_INTEGER: return mix(h, (uint64_t)json_integer_value(v));
    case JSON_REAL: {
        double d = json_real_value(v);
        uint64_t x;
        memcpy(&x, &d, sizeof x);
        return mix(h, x);
    }
    default: return h;
    }
}

/* Drops values only the table references (called with the lock held). */
static void sweep(struct shard *sh)
{
    for (size_t i = 0; i < SHARD_SLOTS; i++) {
        json_t *v = sh->slots[i].v;
        if (v && __atomic_load_n(&v->refcount, __ATOMIC_ACQUIRE) == 1) {
            json_decref(v);
            sh->slots[i].v = NULL;
            sh->n--;
        }
    }
    /* re-insert the survivors so probe chains have no holes */
    struct slot *keep = sk_malloc(SHARD_SLOTS * sizeof *keep); /* 64 KiB: not on a thread's stack */
    size_t nk = 0;
    for (size_t i = 0; i < SHARD_SLOTS; i++)
        if (sh->slots[i].v) keep[nk++] = sh->slots[i];
    memset(sh->slots, 0, sizeof sh->slots);
    for (size_t j = 0; j < nk; j++) {
        size_t i = (size_t)(keep[j].hash >> 4) & (SHARD_SLOTS - 1);
        while (sh->slots[i].v) i = (i + 1) & (SHARD_SLOTS - 1);
        sh->slots[i] = keep[j];
    }
    free(keep);
}

json_t *sk_json_intern(json_t *v)
{
    if (!v) return NULL;
    size_t nodes = 0;
    uint64_t h = hash_value(v, &nodes);
    if (nodes > MAX_NODES) return json_incref(v);
    struct shard *sh = &shards[h & (SHARDS - 1)];
    pthread_mutex_lock(&sh->lock);
    size_t i = (size_t)(h >> 4) & (SHARD_SLOTS - 1);
    for (; sh->slots[i].v; i = (i + 1) & (SHARD_SLOTS - 1)) {
        if (sh->slots[i].hash == h && json_equal(sh->slots[i].v, v)) {
            json_t *c = json_incref(sh->slots[i].v);
            pthread_mutex_unlock(&sh->lock);
            return c;
        }
    }
    if (sh->n >= SHARD_MAX) {
        sweep(sh);
        if (sh->n >= SHARD_MAX) { /* all in use: do not share this one */
            pthread_mutex_unlock(&sh->lock);
            return json_incref(v);
        }
        i = (size_t)(h >> 4) & (SHARD_SLOTS - 1);
        while (sh->slots[i].v) i = (i + 1) & (SHARD_SLOTS - 1);
    }
    sh->slots[i].hash = h;
    sh->slots[i].v = json_incref(v);
    sh->n++;
    pthread_mutex_unlock(&sh->lock);
    return json_incref(v);
}
