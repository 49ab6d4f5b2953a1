/* DATA_DIR/registries.yaml in the k3s format:
 *
 *   mirrors:
 *     docker.io:
 *       endpoint: ["http://127.0.0.1:5000"]
 *       rewrite: {"^library/(.*)": "mirror/$1"}
 *     "*": {endpoint: [...]}            # any registry without its own entry
 *   configs:
 *     "127.0.0.1:5000":
 *       auth: {username: u, password: p}  # or auth: base64("u:p")
 *       tls: {insecure_skip_verify: true, ca_file: F, cert_file: F, key_file: F}
 *
 * Parsed with libyaml's document loader; only the shape above is walked
 * (fixed depth, so aliases cannot blow up the walk). Unknown keys are
 * ignored as k3s does; identity_token is not supported. Rewrite patterns
 * are POSIX extended regular expressions (Go's RE2 syntax for the common
 * cases: groups, classes, anchors; no \d) with $1 / ${1} references. */
#include "runtime/image/image_int.h"

#include <gnutls/gnutls.h>
#include <regex.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define REG_FILE_MAX (1 << 20)
#define REG_ITEMS_MAX 1000
#define REWRITE_OUT_MAX 4096

typedef struct {
    yaml_document_t *doc;
    sk_err *err;
} walk;

static yaml_node_t *node(walk *w, int id) { return yaml_document_get_node(w->doc, id); }

/* Scalar value or NULL (not a scalar, or holding a NUL byte). */
static char *scalar(walk *w, int id)
{
    yaml_node_t *n = node(w, id);
    if (!n || n->type != YAML_SCALAR_NODE) return NULL;
    const char *v = (const char *)n->data.scalar.value;
    if (strlen(v) != n->data.scalar.length) return NULL;
    return sk_strdup(v);
}

static bool scalar_is(walk *w, int id, const char *s)
{
    yaml_node_t *n = node(w, id);
    return n && n->type == YAML_SCALAR_NODE && !strcmp((const char *)n->data.scalar.value, s);
}

static yaml_node_pair_t *pairs(walk *w, int id, size_t *count)
{
    yaml_node_t *n = node(w, id);
    *count = 0;
    if (!n || n->type != YAML_MAPPING_NODE) return NULL;
    *count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    return n->data.mapping.pairs.start;
}

/* mapping[key] -> node id, 0 when absent */
static int get(walk *w, int map, const char *key)
{
    size_t n;
    yaml_node_pair_t *p = pairs(w, map, &n);
    for (size_t i = 0; i < n; i++)
        if (scalar_is(w, p[i].key, key)) return p[i].value;
    return 0;
}

static char *get_str(walk *w, int map, const char *key)
{
    int v = get(w, map, key);
    return v ? scalar(w, v) : NULL;
}

static bool get_bool(walk *w, int map, const char *key)
{
    _sk_free_ char *v = get_str(w, map, key);
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", "On", "y"};
    for (size_t i = 0; v && i < SK_ARRAY_LEN(yes); i++)
        if (!strcmp(v, yes[i])) return true;
    return false;
}

static int parse_mirror(walk *w, int key, int val, struct sk_reg_mirror *m)
{
    m->host = scalar(w, key);
    if (!m->host) return sk_err_set(w->err, SK_EINVALID, "mirrors: registry name must be a string");
    yaml_node_t *eps = node(w, get(w, val, "endpoint"));
    if (eps && eps->type == YAML_SEQUENCE_NODE) {
        size_t n = (size_t)(eps->data.sequence.items.top - eps->data.sequence.items.start);
        if (n > REG_ITEMS_MAX) return sk_err_set(w->err, SK_EINVALID, "too many endpoints");
        m->endpoints = sk_calloc(n + 1, sizeof *m->endpoints);
        for (size_t i = 0; i < n; i++) {
            char *e = scalar(w, eps->data.sequence.items.start[i]);
            if (!e || !*e) {
                free(e);
                return sk_err_set(w->err, SK_EINVALID, "mirrors.%s.endpoint: not a string",
                                  m->host);
            }
            m->endpoints[m->n_endpoints++] = e;
        }
    }
    size_t n;
    yaml_node_pair_t *rw = pairs(w, get(w, val, "rewrite"), &n);
    if (n > REG_ITEMS_MAX) return sk_err_set(w->err, SK_EINVALID, "too many rewrites");
    m->rewrites = sk_calloc(n + 1, sizeof *m->rewrites);
    for (size_t i = 0; i < n; i++) {
        char *pat = scalar(w, rw[i].key), *rep = scalar(w, rw[i].value);
        if (!pat || !rep) {
            free(pat);
            free(rep);
            return sk_err_set(w->err, SK_EINVALID, "mirrors.%s.rewrite: not a string map",
                              m->host);
        }
        m->rewrites[m->n_rewrites].pattern = pat;
        m->rewrites[m->n_rewrites++].replace = rep;
    }
    return 0;
}

static void decode_auth(struct sk_reg_config *c, const char *b64)
{
    gnutls_datum_t in = {(unsigned char *)b64, (unsigned)strlen(b64)}, out = {0};
    if (gnutls_base64_decode2(&in, &out) < 0) return;
    char *colon = memchr(out.data, ':', out.size);
    if (colon && !memchr(out.data, 0, out.size)) {
        free(c->username);
        free(c->password);
        c->username = sk_strndup((char *)out.data, (size_t)(colon - (char *)out.data));
        c->password = sk_strndup(colon + 1, out.size - (size_t)(colon + 1 - (char *)out.data));
    }
    gnutls_free(out.data);
}

static int parse_config(walk *w, int key, int val, struct sk_reg_config *c)
{
    c->host = scalar(w, key);
    if (!c->host) return sk_err_set(w->err, SK_EINVALID, "configs: registry name must be a string");
    int auth = get(w, val, "auth"), tls = get(w, val, "tls");
    if (auth) {
        c->username = get_str(w, auth, "username");
        c->password = get_str(w, auth, "password");
        _sk_free_ char *b64 = get_str(w, auth, "auth");
        if (b64) decode_auth(c, b64);
    }
    if (tls) {
        c->insecure_skip_verify = get_bool(w, tls, "insecure_skip_verify");
        c->ca_file = get_str(w, tls, "ca_file");
        c->cert_file = get_str(w, tls, "cert_file");
        c->key_file = get_str(w, tls, "key_file");
    }
    return 0;
}

static int parse_root(walk *w, int root, sk_registries *r)
{
    size_t n;
    yaml_node_t *rn = node(w, root);
    if (!rn || (rn->type == YAML_SCALAR_NODE && !rn->data.scalar.length)) return 0;
    if (rn->type != YAML_MAPPING_NODE)
        return sk_err_set(w->err, SK_EINVALID, "top level must be a map (mirrors:, configs:)");
    yaml_node_pair_t *p = pairs(w, get(w, root, "mirrors"), &n);
    if (n > REG_ITEMS_MAX) return sk_err_set(w->err, SK_EINVALID, "too many mirrors");
    r->mirrors = sk_calloc(n + 1, sizeof *r->mirrors);
    for (size_t i = 0; i < n; i++)
        if (parse_mirror(w, p[i].key, p[i].value, &r->mirrors[r->n_mirrors++]) < 0) return -1;
    p = pairs(w, get(w, root, "configs"), &n);
    if (n > REG_ITEMS_MAX) return sk_err_set(w->err, SK_EINVALID, "too many configs");
    r->configs = sk_calloc(n + 1, sizeof *r->configs);
    for (size_t i = 0; i < n; i++)
        if (parse_config(w, p[i].key, p[i].value, &r->configs[r->n_configs++]) < 0) return -1;
    return 0;
}

sk_registries *sk_registries_parse(const char *text, size_t len, sk_err *err)
{
    if (len > REG_FILE_MAX) {
        sk_err_set(err, SK_ETOOLARGE, "registries config is larger than %d bytes", REG_FILE_MAX);
        return NULL;
    }
    yaml_parser_t p;
    yaml_document_t doc;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &doc)) {
        sk_err_set(err, SK_EINVALID, "line %zu: %s", p.problem_mark.line + 1,
                   p.problem ? p.problem : "invalid YAML");
        yaml_parser_delete(&p);
        return NULL;
    }
    sk_registries *r = sk_calloc(1, sizeof *r);
    walk w = {&doc, err};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    int rc = root ? parse_root(&w, 1, r) : 0;
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    if (rc < 0) {
        sk_registries_free(r);
        return NULL;
    }
    return r;
}

sk_registries *sk_registries_load(const char *path, sk_err *err)
{
    struct stat st;
    if (stat(path, &st) < 0) return sk_calloc(1, sizeof(sk_registries));
    if (st.st_size > REG_FILE_MAX) {
        sk_err_set(err, SK_ETOOLARGE, "%s is too large", path);
        return NULL;
    }
    size_t n = 0;
    _sk_free_ char *text = sk_read_file(path, &n, err);
    sk_registries *r = text ? sk_registries_parse(text, n, err) : NULL;
    if (!r) sk_err_wrap(err, "%s", path);
    return r;
}

void sk_registries_free(sk_registries *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n_mirrors; i++) {
        struct sk_reg_mirror *m = &r->mirrors[i];
        free(m->host);
        for (size_t k = 0; k < m->n_endpoints; k++) free(m->endpoints[k]);
        free(m->endpoints);
        for (size_t k = 0; k < m->n_rewrites; k++) {
            free(m->rewrites[k].pattern);
            free(m->rewrites[k].replace);
        }
        free(m->rewrites);
    }
    for (size_t i = 0; i < r->n_configs; i++) {
        struct sk_reg_config *c = &r->configs[i];
        free(c->host);
        free(c->username);
        free(c->password);
        free(c->ca_file);
        free(c->cert_file);
        free(c->key_file);
    }
    free(r->mirrors);
    free(r->configs);
    free(r);
}

const struct sk_reg_mirror *sk_registries_mirror(const sk_registries *r, const char *host)
{
    const struct sk_reg_mirror *any = NULL;
    for (size_t i = 0; i < r->n_mirrors; i++) {
        if (!strcmp(r->mirrors[i].host, host)) return &r->mirrors[i];
        if (!strcmp(r->mirrors[i].host, "*")) any = &r->mirrors[i];
    }
    return any;
}

const struct sk_reg_config *sk_registries_config(const sk_registries *r, const char *host)
{
    for (size_t i = 0; i < r->n_configs; i++)
        if (!strcmp(r->configs[i].host, host)) return &r->configs[i];
    return NULL;
}

/* Go's Regexp.Expand: $1, ${1}, $$; a name that is not a number ($x)
 * expands to nothing, as Go does for unknown groups. */
static void expand(sk_buf *out, const char *rep, const char *subject, const regmatch_t *m,
                   size_t nm)
{
    for (const char *p = rep; *p;) {
        if (*p != '$') {
            sk_buf_add(out, p++, 1);
            continue;
        }
        p++;
        if (*p == '$') {
            sk_buf_add(out, p++, 1);
            continue;
        }
        bool brace = *p == '{';
        const char *s = p + brace, *e = s;
        while ((*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z') ||
               (*e >= '0' && *e <= '9') || *e == '_')
            e++;
        if (e == s || (brace && *e != '}')) {
            sk_buf_add(out, "$", 1);
            continue;
        }
        size_t num = 0;
        bool digits = true;
        for (const char *q = s; q < e; q++) {
            digits = digits && *q >= '0' && *q <= '9';
            if (digits && num < 1000) num = num * 10 + (size_t)(*q - '0');
        }
        if (digits && num < nm && m[num].rm_so >= 0)
            sk_buf_add(out, subject + m[num].rm_so, (size_t)(m[num].rm_eo - m[num].rm_so));
        p = e + brace;
    }
}

static char *rewrite_all(regex_t *re, const char *repl, const char *repo)
{
    sk_buf out = SK_BUF_INIT;
    regmatch_t m[10];
    size_t pos = 0, len = strlen(repo);
    while (pos <= len && out.len < REWRITE_OUT_MAX) {
        if (regexec(re, repo + pos, SK_ARRAY_LEN(m), m, pos ? REG_NOTBOL : 0) != 0) break;
        sk_buf_add(&out, repo + pos, (size_t)m[0].rm_so);
        expand(&out, repl, repo + pos, m, SK_ARRAY_LEN(m));
        size_t adv = (size_t)m[0].rm_eo;
        if (m[0].rm_eo == m[0].rm_so) { /* empty match: step past one char */
            if (pos + adv < len) sk_buf_add(&out, repo + pos + adv, 1);
            adv++;
        }
        pos += adv;
    }
    if (pos < len) sk_buf_add(&out, repo + pos, len - pos);
    return sk_buf_take(&out);
}

char *sk_registries_rewrite(const struct sk_reg_mirror *m, const char *repo, sk_err *err)
{
    for (size_t i = 0; m && i < m->n_rewrites; i++) {
        regex_t re;
        int rc = regcomp(&re, m->rewrites[i].pattern, REG_EXTENDED);
        if (rc != 0) {
            char msg[128];
            regerror(rc, &re, msg, sizeof msg);
            sk_err_set(err, SK_EINVALID, "mirrors.%s.rewrite \"%.100s\": %s", m->host,
                       m->rewrites[i].pattern, msg);
            return NULL;
        }
        bool hit = regexec(&re, repo, 0, NULL, 0) == 0;
        char *out = hit ? rewrite_all(&re, m->rewrites[i].replace, repo) : NULL;
        regfree(&re);
        if (out) return out;
    }
    return sk_strdup(repo);
}
