/* Label selectors, following k8s.io/apimachinery/pkg/labels (v0.32): the
 * same lexer (whitespace-separated identifiers, greedy operator symbols),
 * the same recursive-descent parser and the same error texts, so kubectl
 * users see upstream messages. Also supports Gt/Lt ("x>1"), as upstream. */
#include "api/patch.h"

#include <errno.h>
#include <string.h>

#define SEL_MAX_LEN (64 * 1024)
#define SEL_MAX_REQS 1024

enum op { OP_EQ, OP_DEQ, OP_NEQ, OP_IN, OP_NOTIN, OP_EXISTS, OP_DNE, OP_GT, OP_LT };

struct req {
    char *key;
    enum op op;
    char **vals; /* as given (JSON) or sorted unique (parsed) */
    size_t nvals;
};

struct sk_selector {
    struct req *reqs;
    size_t n;
};

/* ---- errors in the shape of field.Error / aggregate --------------------- */

/* Go's %q for a string: enough of strconv.Quote for ASCII and UTF-8 text. */
static void quote(sk_buf *b, const char *s)
{
    sk_buf_adds(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') sk_buf_addf(b, "\\%c", c);
        else if (c == '\n') sk_buf_adds(b, "\\n");
        else if (c == '\t') sk_buf_adds(b, "\\t");
        else if (c == '\r') sk_buf_adds(b, "\\r");
        else if (c < 0x20 || c == 0x7f) sk_buf_addf(b, "\\x%02x", c);
        else sk_buf_add(b, s, 1);
    }
    sk_buf_adds(b, "\"");
}

/* Go's %#v of a []string: []string{"a", "b"} */
static void quote_list(sk_buf *b, char *const *v, size_t n)
{
    sk_buf_adds(b, "[]string{");
    for (size_t i = 0; i < n; i++) {
        if (i) sk_buf_adds(b, ", ");
        quote(b, v[i]);
    }
    sk_buf_adds(b, "}");
}

/* An aggregate of field errors: one -> itself, several -> "[a, b]". */
struct errs {
    sk_buf all;
    int n;
};

static sk_buf *errs_next(struct errs *e)
{
    sk_buf_adds(&e->all, e->n++ ? ", " : "");
    return &e->all;
}

static int errs_finish(struct errs *e, sk_err *err)
{
    if (e->n == 0) return 0;
    if (e->n == 1) sk_err_set(err, SK_EBADREQUEST, "%s", e->all.data);
    else sk_err_set(err, SK_EBADREQUEST, "[%s]", e->all.data);
    sk_buf_release(&e->all);
    return -1;
}

/* ---- requirements ------------------------------------------------------- */

static void req_release(struct req *r)
{
    free(r->key);
    for (size_t i = 0; i < r->nvals; i++) free(r->vals[i]);
    free(r->vals);
}

void sk_selector_free(sk_selector *sel)
{
    if (!sel) return;
    for (size_t i = 0; i < sel->n; i++) req_release(&sel->reqs[i]);
    free(sel->reqs);
    free(sel);
}

/* strconv.ParseInt(s, 10, 64): optional sign, digits, nothing else. */
static bool parse_int64(const char *s, long long *out)
{
    const char *d = (*s == '+' || *s == '-') ? s + 1 : s;
    if (*d < '0' || *d > '9') return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

/* Upstream NewRequirement's checks. Both the parser and the JSON form call
 * it without a field path, so fields read "key", "values", "values[0][k]". */
static int req_validate(const struct req *r, sk_err *err)
{
    struct errs e = {SK_BUF_INIT, 0};
    const char *m = sk_check_label_key(r->key);
    if (m) {
        sk_buf *b = errs_next(&e);
        sk_buf_adds(b, "key: Invalid value: ");
        quote(b, r->key);
        sk_buf_addf(b, ": %s", m);
    }
    const char *bad = NULL;
    switch (r->op) {
    case OP_IN:
    case OP_NOTIN:
        if (r->nvals == 0) bad = "for 'in', 'notin' operators, values set can't be empty";
        break;
    case OP_EQ:
    case OP_DEQ:
    case OP_NEQ:
        if (r->nvals != 1) bad = "exact-match compatibility requires one single value";
        break;
    case OP_EXISTS:
    case OP_DNE:
        if (r->nvals != 0) bad = "values set must be empty for exists and does not exist";
        break;
    case OP_GT:
    case OP_LT:
        if (r->nvals != 1) bad = "for 'Gt', 'Lt' operators, exactly one value is required";
        break;
    }
    if (bad) {
        sk_buf *b = errs_next(&e);
        sk_buf_adds(b, "values: Invalid value: ");
        quote_list(b, r->vals, r->nvals);
        sk_buf_addf(b, ": %s", bad);
    }
    for (size_t i = 0; (r->op == OP_GT || r->op == OP_LT) && i < r->nvals; i++) {
        long long dummy;
        if (!parse_int64(r->vals[i], &dummy)) {
            sk_buf *b = errs_next(&e);
            sk_buf_addf(b, "values[%zu]: Invalid value: ", i);
            quote(b, r->vals[i]);
            sk_buf_adds(b, ": for 'Gt', 'Lt' operators, the value must be an integer");
        }
    }
    for (size_t i = 0; i < r->nvals; i++) {
        m = sk_check_label_value(r->vals[i]);
        if (m) {
            sk_buf *b = errs_next(&e);
            sk_buf_addf(b, "values[%zu][%s]: Invalid value: ", i, r->key);
            quote(b, r->vals[i]);
            sk_buf_addf(b, ": %s", m);
        }
    }
    return errs_finish(&e, err);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Stable insertion sort by key: selectors are short and upstream sorts by key. */
static void sort_reqs(sk_selector *sel)
{
    for (size_t i = 1; i < sel->n; i++) {
        struct req r = sel->reqs[i];
        size_t j = i;
        while (j > 0 && strcmp(sel->reqs[j - 1].key, r.key) > 0) {
            sel->reqs[j] = sel->reqs[j - 1];
            j--;
        }
        sel->reqs[j] = r;
    }
}

static void sel_push(sk_selector *sel, size_t *cap, struct req r)
{
    if (sel->n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        sel->reqs = sk_realloc(sel->reqs, *cap * sizeof *sel->reqs);
    }
    sel->reqs[sel->n++] = r;
}

/* ---- lexer -------------------------------------------------------------- */

enum tok {
    T_ERROR, T_EOS, T_CLOSE, T_COMMA, T_NOT, T_DEQ, T_EQ, T_GT, T_ID, T_IN, T_LT, T_NEQ,
    T_NOTIN, T_OPEN,
};

struct item {
    enum tok tok;
    const char *lit; /* points into the literal arena */
};

struct lexer {
    const char *s;
    size_t pos;
    char *arena; /* literals, NUL separated; size 2*len+n_tokens bounded */
    size_t alen;
};

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static bool is_special(char c)
{
    return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

static const struct { const char *s; enum tok t; } keywords[] = {
    {")", T_CLOSE}, {",", T_COMMA}, {"!", T_NOT}, {"==", T_DEQ}, {"=", T_EQ}, {">", T_GT},
    {"in", T_IN}, {"<", T_LT}, {"!=", T_NEQ}, {"notin", T_NOTIN}, {"(", T_OPEN},
};

static enum tok keyword(const char *s, size_t n)
{
    for (size_t i = 0; i < SK_ARRAY_LEN(keywords); i++)
        if (strlen(keywords[i].s) == n && !memcmp(keywords[i].s, s, n)) return keywords[i].t;
    return T_ERROR;
}

static const char *lex_save(struct lexer *l, const char *s, size_t n)
{
    char *p = l->arena + l->alen;
    memcpy(p, s, n);
    p[n] = 0;
    l->alen += n + 1;
    return p;
}

static struct item lex(struct lexer *l)
{
    while (is_ws(l->s[l->pos])) l->pos++;
    const char *start = l->s + l->pos;
    if (!*start) return (struct item){T_EOS, ""};
    if (is_special(*start)) {
        /* Greedy: extend while the symbol run still forms a known operator. */
        size_t n = 0, best = 0;
        enum tok bt = T_ERROR;
        while (is_special(start[n])) {
            enum tok t = keyword(start, n + 1);
            if (t != T_ERROR) {
                best = n + 1;
                bt = t;
            } else if (bt != T_ERROR) {
                break;
            }
            n++;
        }
        l->pos += best;
        return (struct item){bt, lex_save(l, start, best)};
    }
    size_t n = 0;
    while (start[n] && !is_special(start[n]) && !is_ws(start[n])) n++;
    l->pos += n;
    enum tok t = keyword(start, n);
    return (struct item){t == T_IN || t == T_NOTIN ? t : T_ID, lex_save(l, start, n)};
}

/* ---- parser ------------------------------------------------------------- */

struct parser {
    struct item *items;
    size_t pos;
};

enum ctx { KEY_AND_OP, VALUES };

static struct item look(struct parser *p, enum ctx c)
{
    struct item it = p->items[p->pos];
    if (c == VALUES && (it.tok == T_IN || it.tok == T_NOTIN)) it.tok = T_ID;
    return it;
}

static struct item take(struct parser *p, enum ctx c)
{
    struct item it = look(p, c);
    if (it.tok != T_EOS) p->pos++;
    return it;
}

/* A set of strings kept sorted and unique, like sets.String.List(). */
struct strset {
    char **v;
    size_t n, cap;
};

static void set_add(struct strset *s, const char *v)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], v)) return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->v = sk_realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = sk_strdup(v);
    qsort(s->v, s->n, sizeof *s->v, cmp_str);
}

static void set_free(struct strset *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* A macro so the format stays a literal the compiler checks. */
#define fail(err, fmt, lit) sk_err_set((err), SK_EBADREQUEST, fmt, (lit))

static int parse_ident_list(struct parser *p, struct strset *s, sk_err *err)
{
    for (;;) {
        struct item it = take(p, VALUES);
        if (it.tok == T_ID) {
            set_add(s, it.lit);
            struct item nx = look(p, VALUES);
            if (nx.tok == T_COMMA) continue;
            if (nx.tok == T_CLOSE) return 0;
            return fail(err, "found '%s', expected: ',' or ')'", nx.lit);
        } else if (it.tok == T_COMMA) {
            if (s->n == 0) set_add(s, ""); /* "(," */
            struct item nx = look(p, VALUES);
            if (nx.tok == T_CLOSE) {
                set_add(s, ""); /* ",)" */
                return 0;
            }
            if (nx.tok == T_COMMA) set_add(s, ""); /* ",," */
        } else {
            return fail(err, "found '%s', expected: ',', or identifier", it.lit);
        }
    }
}

static int parse_values(struct parser *p, struct strset *s, sk_err *err)
{
    struct item it = take(p, VALUES);
    if (it.tok != T_OPEN) return fail(err, "found '%s' expected: '('", it.lit);
    it = look(p, VALUES);
    if (it.tok == T_ID || it.tok == T_COMMA) {
        if (parse_ident_list(p, s, err) < 0) return -1;
        if (take(p, VALUES).tok != T_CLOSE) return fail(err, "found '%s', expected: ')'", it.lit);
        return 0;
    }
    if (it.tok == T_CLOSE) {
        take(p, VALUES);
        set_add(s, "");
        return 0;
    }
    return fail(err, "found '%s', expected: ',', ')' or identifier", it.lit);
}

static int parse_exact(struct parser *p, struct strset *s, sk_err *err)
{
    struct item it = look(p, VALUES);
    if (it.tok == T_EOS || it.tok == T_COMMA) {
        set_add(s, "");
        return 0;
    }
    it = take(p, VALUES);
    if (it.tok != T_ID) return fail(err, "found '%s', expected: identifier", it.lit);
    set_add(s, it.lit);
    return 0;
}

static int parse_operator(struct parser *p, enum op *op, sk_err *err)
{
    struct item it = take(p, KEY_AND_OP);
    switch (it.tok) {
    case T_IN: *op = OP_IN; return 0;
    case T_EQ: *op = OP_EQ; return 0;
    case T_DEQ: *op = OP_DEQ; return 0;
    case T_GT: *op = OP_GT; return 0;
    case T_LT: *op = OP_LT; return 0;
    case T_NOTIN: *op = OP_NOTIN; return 0;
    case T_NEQ: *op = OP_NEQ; return 0;
    default: return fail(err, "found '%s', expected: in, notin, =, ==, !=, gt, lt", it.lit);
    }
}

static int parse_key(struct parser *p, const char **key, bool *unary, enum op *op, sk_err *err)
{
    struct item it = take(p, VALUES);
    *unary = false;
    if (it.tok == T_NOT) {
        *unary = true;
        *op = OP_DNE;
        it = take(p, VALUES);
    }
    if (it.tok != T_ID) return fail(err, "found '%s', expected: identifier", it.lit);
    const char *m = sk_check_label_key(it.lit);
    if (m) {
        sk_buf b = SK_BUF_INIT;
        sk_buf_adds(&b, "<nil>: Invalid value: ");
        quote(&b, it.lit);
        sk_err_set(err, SK_EBADREQUEST, "%s: %s", b.data, m);
        sk_buf_release(&b);
        return -1;
    }
    enum tok nx = look(p, VALUES).tok;
    if (nx == T_EOS || nx == T_COMMA) {
        if (!*unary) *op = OP_EXISTS;
        *unary = true;
    }
    *key = it.lit;
    return 0;
}

static int parse_req(struct parser *p, struct req *out, sk_err *err)
{
    const char *key = NULL;
    bool unary;
    enum op op = OP_EXISTS;
    struct strset vals = {0};
    if (parse_key(p, &key, &unary, &op, err) < 0) return -1;
    if (!unary) {
        if (parse_operator(p, &op, err) < 0) return -1;
        int rc = (op == OP_IN || op == OP_NOTIN) ? parse_values(p, &vals, err)
                                                  : parse_exact(p, &vals, err);
        if (rc < 0) {
            set_free(&vals);
            return -1;
        }
    }
    *out = (struct req){sk_strdup(key), op, vals.v, vals.n};
    if (req_validate(out, err) < 0) {
        req_release(out);
        return -1;
    }
    return 0;
}

static int parse_all(struct parser *p, sk_selector *sel, sk_err *err)
{
    size_t cap = 0;
    for (;;) {
        struct item it = look(p, VALUES);
        if (it.tok == T_EOS) return 0;
        if (it.tok != T_ID && it.tok != T_NOT)
            return fail(err, "found '%s', expected: !, identifier, or 'end of string'", it.lit);
        if (sel->n >= SEL_MAX_REQS)
            return sk_err_set(err, SK_EBADREQUEST, "label selector has too many requirements");
        struct req r;
        if (parse_req(p, &r, err) < 0) return sk_err_wrap(err, "unable to parse requirement");
        sel_push(sel, &cap, r);
        struct item t = take(p, VALUES);
        if (t.tok == T_EOS) return 0;
        if (t.tok != T_COMMA)
            return fail(err, "found '%s', expected: ',' or 'end of string'", t.lit);
        struct item t2 = look(p, VALUES);
        if (t2.tok != T_ID && t2.tok != T_NOT)
            return fail(err, "found '%s', expected: identifier after ','", t2.lit);
    }
}

sk_selector *sk_selector_parse(const char *s, sk_err *err)
{
    if (!s) s = "";
    size_t len = strlen(s);
    if (len > SEL_MAX_LEN) {
        sk_err_set(err, SK_EBADREQUEST, "label selector too long (%zu bytes, max %d)", len,
                   SEL_MAX_LEN);
        return NULL;
    }
    /* Every token consumes at least one byte, and its literal is a copy of
     * those bytes plus a NUL, so 2*len+2 bounds both arrays. */
    struct lexer l = {s, 0, sk_malloc(2 * len + 2), 0};
    struct item *items = sk_malloc((len + 2) * sizeof *items);
    size_t n = 0;
    do {
        items[n] = lex(&l);
    } while (items[n++].tok != T_EOS);

    sk_selector *sel = sk_calloc(1, sizeof *sel);
    struct parser p = {items, 0};
    int rc = parse_all(&p, sel, err);
    free(items);
    free(l.arena);
    if (rc < 0) {
        sk_selector_free(sel);
        return NULL;
    }
    sort_reqs(sel);
    return sel;
}

/* ---- from metav1.LabelSelector ------------------------------------------ */

static int expr_op(const char *s, enum op *op)
{
    static const struct { const char *s; enum op op; } ops[] = {
        {"In", OP_IN}, {"NotIn", OP_NOTIN}, {"Exists", OP_EXISTS}, {"DoesNotExist", OP_DNE},
    };
    for (size_t i = 0; s && i < SK_ARRAY_LEN(ops); i++) {
        if (!strcmp(ops[i].s, s)) {
            *op = ops[i].op;
            return 0;
        }
    }
    return -1;
}

static int add_expr(sk_selector *sel, size_t *cap, const json_t *e, sk_err *err)
{
    if (!json_is_object(e))
        return sk_err_set(err, SK_EBADREQUEST, "matchExpressions: each entry must be an object");
    const char *key = sk_json_str(e, "key");
    const char *ops = sk_json_str(e, "operator");
    enum op op;
    if (expr_op(ops, &op) < 0) {
        sk_buf b = SK_BUF_INIT;
        quote(&b, ops ? ops : "");
        sk_err_set(err, SK_EBADREQUEST, "%s is not a valid label selector operator", b.data);
        sk_buf_release(&b);
        return -1;
    }
    json_t *vals = json_object_get(e, "values");
    if (vals && !json_is_array(vals) && !json_is_null(vals))
        return sk_err_set(err, SK_EBADREQUEST, "matchExpressions: values must be a list");
    size_t nv = json_array_size(vals);
    if (nv > SEL_MAX_REQS)
        return sk_err_set(err, SK_EBADREQUEST, "matchExpressions: too many values");
    struct req r = {sk_strdup(key ? key : ""), op, nv ? sk_calloc(nv, sizeof(char *)) : NULL, 0};
    for (size_t i = 0; i < nv; i++) {
        const char *v = json_string_value(json_array_get(vals, i));
        if (!v) {
            req_release(&r);
            return sk_err_set(err, SK_EBADREQUEST, "matchExpressions: values must be strings");
        }
        r.vals[r.nvals++] = sk_strdup(v);
    }
    if (req_validate(&r, err) < 0) {
        req_release(&r);
        return -1;
    }
    sel_push(sel, cap, r);
    return 0;
}

static int from_json(sk_selector *sel, const json_t *ls, sk_err *err)
{
    size_t cap = 0;
    json_t *ml = json_object_get(ls, "matchLabels");
    json_t *me = json_object_get(ls, "matchExpressions");
    if ((ml && !json_is_object(ml) && !json_is_null(ml)) ||
        (me && !json_is_array(me) && !json_is_null(me)))
        return sk_err_set(err, SK_EBADREQUEST, "invalid label selector");
    if (json_object_size(ml) + json_array_size(me) > SEL_MAX_REQS)
        return sk_err_set(err, SK_EBADREQUEST, "label selector has too many requirements");
    const char *k;
    json_t *v;
    json_object_foreach(ml, k, v) {
        if (!json_is_string(v))
            return sk_err_set(err, SK_EBADREQUEST, "matchLabels: values must be strings");
        struct req r = {sk_strdup(k), OP_EQ, sk_malloc(sizeof(char *)), 1};
        r.vals[0] = sk_strdup(json_string_value(v));
        if (req_validate(&r, err) < 0) {
            req_release(&r);
            return -1;
        }
        sel_push(sel, &cap, r);
    }
    size_t i;
    json_array_foreach(me, i, v) {
        if (add_expr(sel, &cap, v, err) < 0) return -1;
    }
    return 0;
}

sk_selector *sk_selector_from_json(const json_t *ls, sk_err *err)
{
    sk_selector *sel = sk_calloc(1, sizeof *sel);
    if (!ls || json_is_null(ls)) return sel;
    if (!json_is_object(ls)) {
        sk_selector_free(sel);
        sk_err_set(err, SK_EBADREQUEST, "invalid label selector: not an object");
        return NULL;
    }
    if (from_json(sel, ls, err) < 0) {
        sk_selector_free(sel);
        return NULL;
    }
    sort_reqs(sel);
    return sel;
}

/* ---- matching and printing ---------------------------------------------- */

static bool has_value(const struct req *r, const char *v)
{
    for (size_t i = 0; i < r->nvals; i++)
        if (!strcmp(r->vals[i], v)) return true;
    return false;
}

static bool req_match(const struct req *r, const json_t *labels)
{
    const char *v = sk_json_str(labels, r->key);
    bool present = json_object_get(labels, r->key) != NULL;
    long long a, b;
    switch (r->op) {
    case OP_EQ:
    case OP_DEQ:
    case OP_IN: return v && has_value(r, v);
    case OP_NEQ:
    case OP_NOTIN: return !v || !has_value(r, v);
    case OP_EXISTS: return present;
    case OP_DNE: return !present;
    case OP_GT:
    case OP_LT:
        if (!v || r->nvals != 1 || !parse_int64(v, &a) || !parse_int64(r->vals[0], &b))
            return false;
        return r->op == OP_GT ? a > b : a < b;
    }
    return false;
}

bool sk_selector_match(const sk_selector *sel, const json_t *labels)
{
    if (!sel) return true;
    if (labels && !json_is_object(labels)) labels = NULL;
    for (size_t i = 0; i < sel->n; i++)
        if (!req_match(&sel->reqs[i], labels)) return false;
    return true;
}

bool sk_selector_empty(const sk_selector *sel) { return !sel || sel->n == 0; }

static void req_string(sk_buf *b, const struct req *r)
{
    static const char *const opstr[] = {
        [OP_EQ] = "=", [OP_DEQ] = "==", [OP_NEQ] = "!=", [OP_IN] = " in ",
        [OP_NOTIN] = " notin ", [OP_GT] = ">", [OP_LT] = "<",
    };
    if (r->op == OP_DNE) sk_buf_adds(b, "!");
    sk_buf_adds(b, r->key);
    if (r->op == OP_EXISTS || r->op == OP_DNE) return;
    sk_buf_adds(b, opstr[r->op]);
    bool set = r->op == OP_IN || r->op == OP_NOTIN;
    if (set) sk_buf_adds(b, "(");
    char **sorted = sk_malloc((r->nvals + 1) * sizeof *sorted);
    memcpy(sorted, r->vals, r->nvals * sizeof *sorted);
    qsort(sorted, r->nvals, sizeof *sorted, cmp_str);
    for (size_t i = 0; i < r->nvals; i++) {
        if (i) sk_buf_adds(b, ",");
        sk_buf_adds(b, sorted[i]);
    }
    free(sorted);
    if (set) sk_buf_adds(b, ")");
}

char *sk_selector_string(const sk_selector *sel)
{
    sk_buf b = SK_BUF_INIT;
    for (size_t i = 0; sel && i < sel->n; i++) {
        if (i) sk_buf_adds(&b, ",");
        req_string(&b, &sel->reqs[i]);
    }
    char *s = sk_buf_take(&b);
    return s ? s : sk_strdup("");
}
