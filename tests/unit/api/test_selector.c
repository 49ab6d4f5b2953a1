/* Label and field selectors: parsing, canonical strings, matching and
 * upstream error texts. */
#include "api/patch.h"
#include "unit/test.h"

static json_t *J(const char *s) { return json_loads(s, JSON_DECODE_ANY, NULL); }

/* Parses s and compares the canonical string. */
static void roundtrip(const char *s, const char *want)
{
    sk_err err = SK_ERR_INIT;
    sk_selector *sel = sk_selector_parse(s, &err);
    if (!sel) fprintf(stderr, "parse \"%s\": %s\n", s, err.msg);
    CHECK(sel != NULL);
    char *str = sk_selector_string(sel);
    CHECK_STR(str, want);
    free(str);
    sk_selector_free(sel);
}

static void parse_err(const char *s, const char *want)
{
    sk_err err = SK_ERR_INIT;
    sk_selector *sel = sk_selector_parse(s, &err);
    CHECK(sel == NULL);
    CHECK_INT(err.code, SK_EBADREQUEST);
    if (want) CHECK_STR(err.msg, want);
    sk_selector_free(sel);
}

static bool matches(const char *s, const char *labels)
{
    sk_selector *sel = sk_selector_parse(s, NULL);
    json_t *l = labels ? J(labels) : NULL;
    bool m = sel && sk_selector_match(sel, l);
    json_decref(l);
    sk_selector_free(sel);
    return m;
}

static void t_parse(void)
{
    roundtrip("x=a,y=b,z=c", "x=a,y=b,z=c");
    roundtrip("", "");
    roundtrip("x!=a,y=b", "x!=a,y=b");
    roundtrip("x=", "x=");
    roundtrip("x= ", "x=");
    roundtrip("x=,z= ", "x=,z=");
    roundtrip("!x", "!x");
    roundtrip("x>1", "x>1");
    roundtrip("x>1,z<5", "x>1,z<5");
    roundtrip("x==a", "x==a");
    roundtrip("z=1,a=2", "a=2,z=1");
    roundtrip("x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()");
    roundtrip("  app = web ,\ttier in ( b , a )  ", "app=web,tier in (a,b)");
    roundtrip("environment notin (qa),!canary,kubernetes.io/cluster-service=true",
              "!canary,environment notin (qa),kubernetes.io/cluster-service=true");
    roundtrip("in in (in,notin)", "in in (in,notin)");
    roundtrip("a in (x,x,y)", "a in (x,y)");
}

#define QMSG                                                                                     \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an " \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "      \
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define VMSG                                                                                       \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', " \
    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "   \
    "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

static void t_errors(void)
{
    parse_err("x=a||y=b", "unable to parse requirement: values[0][x]: Invalid value: \"a||y\": " VMSG);
    parse_err("x==a==b", "found '==', expected: ',' or 'end of string'");
    parse_err("!x=a", "found '=', expected: ',' or 'end of string'");
    parse_err("x<a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' "
                     "operators, the value must be an integer");
    parse_err(",a", "found ',', expected: !, identifier, or 'end of string'");
    parse_err("a,", "found '', expected: identifier after ','");
    parse_err("a in", "unable to parse requirement: found '' expected: '('");
    parse_err("a in (b", "unable to parse requirement: found '', expected: ',' or ')'");
    parse_err("a=(", "unable to parse requirement: found '(', expected: identifier");
    parse_err("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
    parse_err("-bad", "unable to parse requirement: <nil>: Invalid value: \"-bad\": name part " QMSG);
    parse_err("a=b c", "found 'c', expected: ',' or 'end of string'");
    parse_err("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'");
    parse_err("=a", "found '=', expected: !, identifier, or 'end of string'");
    parse_err("!", "unable to parse requirement: found '', expected: identifier");
    parse_err("a=\"x\"", NULL);
    sk_buf b = SK_BUF_INIT;
    for (int i = 0; i < 70000; i++) sk_buf_adds(&b, "a");
    parse_err(b.data, NULL);
    sk_buf_release(&b);
    for (int i = 0; i < 1100; i++) sk_buf_addf(&b, "%sk%d", i ? "," : "", i);
    parse_err(b.data, "label selector has too many requirements");
    sk_buf_release(&b);
}

static void t_match(void)
{
    const char *l = "{\"app\":\"web\",\"tier\":\"fe\",\"n\":\"5\"}";
    CHECK(matches("", l));
    CHECK(matches("", NULL));
    CHECK(matches("app=web", l));
    CHECK(matches("app==web", l));
    CHECK(!matches("app=db", l));
    CHECK(!matches("app!=web", l));
    CHECK(matches("app!=x", l));
    CHECK(matches("missing!=x", l));
    CHECK(matches("tier in (fe,be)", l));
    CHECK(!matches("tier in (be)", l));
    CHECK(!matches("tier notin (fe)", l));
    CHECK(matches("missing notin (fe)", l));
    CHECK(!matches("missing in (fe)", l));
    CHECK(matches("app", l));
    CHECK(!matches("missing", l));
    CHECK(!matches("!app", l));
    CHECK(matches("!missing", l));
    CHECK(matches("n>4,n<6", l));
    CHECK(!matches("n>5", l));
    CHECK(!matches("app>1", l));
    CHECK(matches("app=web,tier=fe", l));
    CHECK(!matches("app=web,tier=be", l));
    CHECK(!matches("app=web", NULL));
    CHECK(matches("!app", NULL));
    CHECK(matches("x=", "{\"x\":\"\"}"));
    sk_selector *sel = sk_selector_parse("", NULL);
    CHECK(sk_selector_empty(sel));
    sk_selector_free(sel);
    sel = sk_selector_parse("a", NULL);
    CHECK(!sk_selector_empty(sel));
    sk_selector_free(sel);
}

static void from_json(const char *js, const char *want_str, const char *want_err)
{
    json_t *j = js ? J(js) : NULL;
    sk_err err = SK_ERR_INIT;
    sk_selector *sel = sk_selector_from_json(j, &err);
    if (want_err) {
        CHECK(sel == NULL);
        CHECK_INT(err.code, SK_EBADREQUEST);
        CHECK_STR(err.msg, want_err);
    } else {
        if (!sel) fprintf(stderr, "from_json %s: %s\n", js, err.msg);
        char *s = sk_selector_string(sel);
        CHECK_STR(s, want_str);
        free(s);
    }
    sk_selector_free(sel);
    json_decref(j);
}

static void t_json(void)
{
    from_json(NULL, "", NULL);
    from_json("{}", "", NULL);
    from_json("{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"tier\",\"operator\":"
              "\"In\",\"values\":[\"b\",\"a\"]},{\"key\":\"env\",\"operator\":\"DoesNotExist\"},"
              "{\"key\":\"k\",\"operator\":\"Exists\",\"values\":[]},{\"key\":\"z\",\"operator\":\"NotIn\","
              "\"values\":[\"q\"]}]}",
              "app=web,!env,k,tier in (a,b),z notin (q)", NULL);
    from_json("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Foo\"}]}", NULL,
              "\"Foo\" is not a valid label selector operator");
    from_json("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[]}]}", NULL,
              "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty");
    from_json("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}", NULL,
              "values: Invalid value: []string{\"x\"}: values set must be empty for exists and does not exist");
    from_json("{\"matchLabels\":{\"a b\":\"x\"}}", NULL,
              "key: Invalid value: \"a b\": name part " QMSG);
    /* two errors aggregate as "[a, b]" (cut at sk_err's 512 bytes) */
    json_t *two = J("{\"matchLabels\":{\"-a\":\"-\"}}");
    sk_err e2 = SK_ERR_INIT;
    CHECK(sk_selector_from_json(two, &e2) == NULL);
    const char *want2 = "[key: Invalid value: \"-a\": name part " QMSG ", values[0][-a]: Invalid value: \"-\": " VMSG "]";
    CHECK(strlen(e2.msg) > 300 && !strncmp(e2.msg, want2, strlen(e2.msg)));
    json_decref(two);
    from_json("{\"matchLabels\":{\"a\":1}}", NULL, "matchLabels: values must be strings");
    from_json("[]", NULL, "invalid label selector: not an object");

    json_t *j = J("{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"t\",\"operator\":\"In\","
                  "\"values\":[\"a\"]}]}");
    sk_selector *sel = sk_selector_from_json(j, NULL);
    json_t *l1 = J("{\"app\":\"web\",\"t\":\"a\"}"), *l2 = J("{\"app\":\"web\"}");
    CHECK(sk_selector_match(sel, l1));
    CHECK(!sk_selector_match(sel, l2));
    json_decref(l1);
    json_decref(l2);
    json_decref(j);
    sk_selector_free(sel);
}

/* ---- field selectors ---------------------------------------------------- */

static const char *const pod_fields[] = {"metadata.name", "metadata.namespace", "spec.nodeName",
                                         "status.phase", "spec.unschedulable", "spec.replicas",
                                         NULL};

static bool fmatch(const char *s, const char *obj)
{
    sk_fieldsel *fs = sk_fieldsel_parse(s, NULL, NULL);
    json_t *o = J(obj);
    bool m = fs && sk_fieldsel_match(fs, o);
    json_decref(o);
    sk_fieldsel_free(fs);
    return m;
}

static void fs_err(const char *s, const char *const *allowed, const char *want)
{
    sk_err err = SK_ERR_INIT;
    sk_fieldsel *fs = sk_fieldsel_parse(s, allowed, &err);
    CHECK(fs == NULL);
    CHECK_INT(err.code, SK_EBADREQUEST);
    if (want) CHECK_STR(err.msg, want);
    sk_fieldsel_free(fs);
}

static void t_fieldsel(void)
{
    const char *pod = "{\"metadata\":{\"name\":\"p1\",\"namespace\":\"default\"},\"spec\":{\"nodeName\":\"n1\","
                      "\"unschedulable\":true,\"replicas\":3,\"ratio\":0.5},\"status\":{\"phase\":\"Running\"}}";
    CHECK(fmatch("", pod));
    CHECK(fmatch(",,", pod));
    CHECK(fmatch("metadata.name=p1", pod));
    CHECK(fmatch("metadata.name==p1", pod));
    CHECK(!fmatch("metadata.name=p2", pod));
    CHECK(fmatch("metadata.name!=p2", pod));
    CHECK(fmatch("metadata.name=p1,metadata.namespace=default,status.phase!=Pending", pod));
    CHECK(!fmatch("metadata.name=p1,status.phase!=Running", pod));
    CHECK(fmatch("spec.unschedulable=true", pod));
    CHECK(fmatch("spec.replicas=3", pod));
    CHECK(fmatch("spec.ratio=0.5", pod));
    CHECK(fmatch("spec.missing=", pod));
    CHECK(fmatch("spec=", pod)); /* objects compare as "" */
    CHECK(!fmatch("spec.missing=x", pod));
    CHECK(fmatch("a=b\\,c", "{\"a\":\"b,c\"}"));
    CHECK(fmatch("a=b\\=c", "{\"a\":\"b=c\"}"));
    CHECK(fmatch("a=b\\\\c", "{\"a\":\"b\\\\c\"}"));
    CHECK(!fmatch("a!=b=", "{\"a\":\"c\"}")); /* unescaped '=' is an error */

    sk_err err = SK_ERR_INIT;
    sk_fieldsel *fs = sk_fieldsel_parse("metadata.name=p1,spec.nodeName!=x", pod_fields, &err);
    CHECK(fs != NULL);
    CHECK_STR(sk_fieldsel_pinned(fs, "metadata.name"), "p1");
    CHECK(sk_fieldsel_pinned(fs, "spec.nodeName") == NULL);
    CHECK(sk_fieldsel_pinned(fs, "metadata.namespace") == NULL);
    sk_fieldsel_free(fs);
    fs = sk_fieldsel_parse("metadata.namespace==ns", NULL, NULL);
    CHECK_STR(sk_fieldsel_pinned(fs, "metadata.namespace"), "ns");
    sk_fieldsel_free(fs);

    fs_err("spec.foo=x", pod_fields, "field label not supported: spec.foo");
    fs_err("abc", NULL, "invalid selector: 'abc'; can't understand 'abc'");
    fs_err("a=b,zzz", NULL, "invalid selector: 'a=b,zzz'; can't understand 'zzz'");
    fs_err("a=b=c", NULL, "invalid field selector: unescaped character in value: 61");
    fs_err("a=b\\x", NULL, "invalid field selector: invalid escape sequence: \\x");
    fs_err("a=b\\", NULL, "invalid field selector: invalid escape sequence: \\");
    /* syntax errors win over unsupported fields, as upstream transforms last */
    fs_err("aaa=1,zzz", pod_fields, "invalid selector: 'aaa=1,zzz'; can't understand 'zzz'");
    sk_buf b = SK_BUF_INIT;
    for (int i = 0; i < 300; i++) sk_buf_addf(&b, "%sa%d=b", i ? "," : "", i);
    fs_err(b.data, NULL, NULL);
    sk_buf_release(&b);
}

int main(void)
{
    t_parse();
    t_errors();
    t_match();
    t_json();
    t_fieldsel();
    return test_done();
}
