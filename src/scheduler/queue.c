/* The scheduling queue, after upstream's: an active list ordered by
 * priority (FIFO within one priority), a backoff list of pods waiting out
 * their retry delay, and an unschedulable list of pods that wait for a
 * cluster change (or 30 s). Intrusive doubly-linked lists over the pod
 * states, so moves are O(1). Called with the scheduler lock held. */
#include "scheduler/scheduler_int.h"

#define BACKOFF_INITIAL_MS 1000
#define BACKOFF_MAX_MS 10000
#define UNSCHED_FLUSH_MS 30000

static void head_init(struct sk_sched_podstate *h)
{
    h->prev = h->next = h;
}

void sk_sched_queue_init(struct sk_sched_queue *q)
{
    head_init(&q->active);
    head_init(&q->backoff);
    head_init(&q->unsched);
    q->nactive = 0;
}

static void unlink_ps(struct sk_sched_queue *q, struct sk_sched_podstate *ps)
{
    if (ps->q != SK_Q_ACTIVE && ps->q != SK_Q_BACKOFF && ps->q != SK_Q_UNSCHED) return;
    if (ps->q == SK_Q_ACTIVE) q->nactive--;
    ps->prev->next = ps->next;
    ps->next->prev = ps->prev;
    ps->prev = ps->next = NULL;
}

static void insert_after(struct sk_sched_podstate *at, struct sk_sched_podstate *ps)
{
    ps->prev = at;
    ps->next = at->next;
    at->next->prev = ps;
    at->next = ps;
}

void sk_sched_queue_move(struct sk_sched_queue *q, struct sk_sched_podstate *ps, enum sk_sched_q to)
{
    unlink_ps(q, ps);
    ps->q = to;
    switch (to) {
    case SK_Q_ACTIVE: {
        /* Higher priority first; scanning from the tail is O(1) when all
         * pods share one priority. */
        struct sk_sched_podstate *at = q->active.prev;
        while (at != &q->active && at->priority < ps->priority) at = at->prev;
        insert_after(at, ps);
        q->nactive++;
        break;
    }
    case SK_Q_BACKOFF: insert_after(q->backoff.prev, ps); break;
    case SK_Q_UNSCHED: insert_after(q->unsched.prev, ps); break;
    default: break;
    }
}

struct sk_sched_podstate *sk_sched_queue_pop(struct sk_sched_queue *q)
{
    struct sk_sched_podstate *ps = q->active.next;
    if (ps == &q->active) return NULL;
    sk_sched_queue_move(q, ps, SK_Q_INFLIGHT);
    return ps;
}

void sk_sched_queue_failed(struct sk_sched_queue *q, struct sk_sched_podstate *ps, int64_t now)
{
    int64_t d = BACKOFF_INITIAL_MS;
    for (int i = 1; i < ps->attempts && d < BACKOFF_MAX_MS; i++) d *= 2;
    ps->attempts++;
    ps->backoff_until = now + (d < BACKOFF_MAX_MS ? d : BACKOFF_MAX_MS);
    ps->unsched_since = now;
    sk_sched_queue_move(q, ps, SK_Q_UNSCHED);
}

void sk_sched_queue_move_all(struct sk_sched_queue *q, int64_t now)
{
    while (q->unsched.next != &q->unsched) {
        struct sk_sched_podstate *ps = q->unsched.next;
        sk_sched_queue_move(q, ps, ps->backoff_until > now ? SK_Q_BACKOFF : SK_Q_ACTIVE);
    }
}

int64_t sk_sched_queue_tick(struct sk_sched_queue *q, int64_t now, int64_t max_wait)
{
    int64_t wait = max_wait;
    struct sk_sched_podstate *ps, *next;
    for (ps = q->backoff.next; ps != &q->backoff; ps = next) {
        next = ps->next;
        if (ps->backoff_until <= now) sk_sched_queue_move(q, ps, SK_Q_ACTIVE);
        else if (ps->backoff_until - now < wait) wait = ps->backoff_until - now;
    }
    for (ps = q->unsched.next; ps != &q->unsched; ps = next) {
        next = ps->next;
        int64_t due = ps->unsched_since + UNSCHED_FLUSH_MS;
        if (due > now) {
            if (due - now < wait) wait = due - now;
        } else if (ps->backoff_until > now) {
            sk_sched_queue_move(q, ps, SK_Q_BACKOFF);
            if (ps->backoff_until - now < wait) wait = ps->backoff_until - now;
        } else {
            sk_sched_queue_move(q, ps, SK_Q_ACTIVE);
        }
    }
    return wait;
}
