/* Score plugins over the feasible nodes, as upstream v1.32 computes them:
 * NodeResourcesFit (LeastAllocated over cpu and memory, with the non-zero
 * default requests so that pods without requests still spread),
 * NodeResourcesBalancedAllocation, TaintToleration (PreferNoSchedule),
 * NodeAffinity (preferred terms) and spreading of the pods of one
 * controller (what SelectorSpread / the default PodTopologySpread
 * constraint on kubernetes.io/hostname achieve). Each plugin's scores are
 * normalized to 0..100, weighted and summed.
 *
 * Partial: preferred pod (anti-)affinity and ImageLocality are not scored. */
#include "scheduler/scheduler_int.h"

#include <math.h>
#include <string.h>

#define MAX_SCORE 100
#define W_TAINT 3
#define W_AFFINITY 2
#define W_SPREAD 2
#define W_FIT 1
#define W_BALANCED 1

void sk_sched_scorer_init(struct sk_sched_scorer *sc, int n)
{
    sc->n = n;
    int64_t *all = sk_calloc(5 * (size_t)(n ? n : 1), sizeof *all);
    sc->fit = all;
    sc->balanced = all + n;
    sc->spread = all + 2 * n;
    sc->affinity = all + 3 * n;
    sc->taint = all + 4 * n;
}

void sk_sched_scorer_release(struct sk_sched_scorer *sc)
{
    free(sc->fit);
    memset(sc, 0, sizeof *sc);
}

static int64_t least_requested(int64_t requested, int64_t capacity)
{
    if (capacity <= 0 || requested > capacity) return 0;
    return (capacity - requested) * MAX_SCORE / capacity;
}

static double fraction(int64_t requested, int64_t capacity)
{
    if (capacity <= 0) return 1.0;
    double f = (double)requested / (double)capacity;
    return f > 1.0 ? 1.0 : f;
}

static int64_t preferred_affinity(const struct sk_sched_pod *p, const struct sk_sched_node *n)
{
    const json_t *pref = json_object_get(p->node_affinity, "preferredDuringSchedulingIgnoredDuringExecution");
    int64_t sum = 0;
    json_t *t;
    size_t i;
    json_array_foreach(pref, i, t) {
        json_int_t w = json_integer_value(json_object_get(t, "weight"));
        if (w > 0 && sk_sched_term_match(json_object_get(t, "preference"), n->labels, n->name))
            sum += w;
    }
    return sum;
}

void sk_sched_score_node(const struct sk_sched_pod *p, const struct sk_sched_node *n,
                         int owner_count, struct sk_sched_scorer *sc, int i)
{
    int64_t cpu = n->used.nz_cpu_m + p->req.nz_cpu_m, mem = n->used.nz_mem + p->req.nz_mem;
    sc->fit[i] = (least_requested(cpu, n->alloc_cpu_m) + least_requested(mem, n->alloc_mem)) / 2;
    double std = fabs(fraction(cpu, n->alloc_cpu_m) - fraction(mem, n->alloc_mem)) / 2;
    sc->balanced[i] = (int64_t)((1.0 - std) * MAX_SCORE);
    sc->spread[i] = p->owner_uid ? owner_count : -1;
    sc->affinity[i] = preferred_affinity(p, n);
    int64_t bad = 0;
    for (int t = 0; t < n->ntaints; t++)
        if (!strcmp(n->taints[t].effect, "PreferNoSchedule") &&
            !sk_sched_tolerated(p->tolerations, n->taints[t].key, n->taints[t].value,
                                "PreferNoSchedule"))
            bad++;
    sc->taint[i] = bad;
}

/* DefaultNormalizeScore: scale to 0..100 by the maximum; reverse flips. */
static void normalize(int64_t *s, int n, bool reverse)
{
    int64_t max = 0;
    for (int i = 0; i < n; i++)
        if (s[i] > max) max = s[i];
    for (int i = 0; i < n; i++) {
        if (max == 0) {
            s[i] = reverse ? MAX_SCORE : 0;
            continue;
        }
        int64_t v = s[i] * MAX_SCORE / max;
        s[i] = reverse ? MAX_SCORE - v : v;
    }
}

void sk_sched_score_finish(struct sk_sched_scorer *sc, int64_t *total)
{
    int n = sc->n;
    normalize(sc->taint, n, true);
    normalize(sc->affinity, n, false);
    /* Spreading: fewer pods of the same controller is better; pods without
     * a controller are not spread (-1). */
    if (n && sc->spread[0] >= 0) normalize(sc->spread, n, true);
    for (int i = 0; i < n; i++) {
        int64_t spread = sc->spread[i] >= 0 ? sc->spread[i] : 0;
        total[i] = W_TAINT * sc->taint[i] + W_AFFINITY * sc->affinity[i] + W_SPREAD * spread +
                   W_FIT * sc->fit[i] + W_BALANCED * sc->balanced[i];
    }
}

int sk_sched_pick(const int64_t *total, int n, uint64_t *seed)
{
    int best = -1, ties = 0;
    for (int i = 0; i < n; i++) {
        if (best >= 0 && total[i] < total[best]) continue;
        if (best < 0 || total[i] > total[best]) {
            best = i;
            ties = 1;
            continue;
        }
        /* Reservoir sampling keeps each tied node with equal probability. */
        uint64_t x = *seed ? *seed : 0x9e3779b97f4a7c15ULL;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *seed = x;
        if (x % (uint64_t)++ties == 0) best = i;
    }
    return best;
}
