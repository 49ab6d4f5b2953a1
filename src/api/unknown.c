/* Strict field validation (fieldValidation=Strict|Warn): the paths of JSON
 * fields that the schema does not know, spelled as upstream's strict
 * decoder (sigs.k8s.io/json) spells them: object keys joined by ".", list
 * indices as "[i]", map keys as ".key" ("spec.template.spec.containers[0].bogus").
 *
 * Types marked `open` are not descended into (their tables are
 * incomplete); neither is the top-level status, which the server
 * overwrites anyway. At most MAX_PATHS paths are reported, as upstream. */
#include <string.h>

#include "api/schema_types.h"

#define MAX_PATHS 100
#define MAX_DEPTH 64

struct walk {
    sk_buf path;
    json_t *out;
    size_t n;
};

static void path_push(sk_buf *b, const char *key)
{
    if (b->len) sk_buf_adds(b, ".");
    sk_buf_adds(b, key);
}

static void path_pop(sk_buf *b, size_t len)
{
    b->len = len;
    if (b->data) b->data[len] = '\0';
}

static void report(struct walk *w)
{
    if (w->n >= MAX_PATHS) return;
    json_array_append_new(w->out, json_string(w->path.data ? w->path.data : ""));
    w->n++;
}

static void walk_obj(struct walk *w, const struct sk_type *t, const json_t *obj, int depth,
                     bool top);

/* One value of a known field: recurse into messages, lists and maps. */
static void walk_value(struct walk *w, const struct sk_field *f, const json_t *v, int depth)
{
    if (f->type != SK_F_MSG || !f->msg || depth > MAX_DEPTH) return;
    size_t len = w->path.len;
    if (f->flags & SK_FL_MAP) {
        const char *k;
        json_t *e;
        if (!json_is_object(v)) return;
        json_object_foreach((json_t *)v, k, e) {
            path_push(&w->path, k);
            if (!(f->flags & SK_FL_REPEATED)) walk_obj(w, f->msg, e, depth + 1, false);
            path_pop(&w->path, len);
        }
    } else if (f->flags & SK_FL_REPEATED) {
        size_t i;
        json_t *e;
        if (!json_is_array(v)) return;
        json_array_foreach(v, i, e) {
            sk_buf_addf(&w->path, "[%zu]", i);
            walk_obj(w, f->msg, e, depth + 1, false);
            path_pop(&w->path, len);
        }
    } else {
        walk_obj(w, f->msg, v, depth + 1, false);
    }
}

static void walk_obj(struct walk *w, const struct sk_type *t, const json_t *obj, int depth,
                     bool top)
{
    if (!json_is_object(obj) || t->open || depth > MAX_DEPTH) return;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        if (top && !strcmp(k, "status")) continue;
        size_t len = w->path.len;
        const struct sk_field *f = sk_schema_field(t, k);
        if (!f) {
            path_push(&w->path, k);
            report(w);
            path_pop(&w->path, len);
            continue;
        }
        if (f->type != SK_F_MSG) continue;
        path_push(&w->path, k);
        walk_value(w, f, v, depth);
        path_pop(&w->path, len);
    }
}

size_t sk_schema_unknown_fields(const struct sk_type *t, const json_t *obj, json_t **paths)
{
    if (!t || !json_is_object(obj) || !paths) return 0;
    struct walk w = {SK_BUF_INIT, NULL, 0};
    if (!*paths) *paths = json_array();
    w.out = *paths;
    w.n = json_array_size(w.out);
    size_t before = w.n;
    walk_obj(&w, t, obj, 0, true);
    sk_buf_release(&w.path);
    return w.n - before;
}
