/* Registry lookups: plural names, kinds, short names, scopes, verbs,
 * subresources, discovery order and field selectors. */
#include "api/api.h"
#include "unit/test.h"

#define REQUIRE_VOID(c) do { if (!(c)) { CHECK(c); return; } } while (0)

static bool has_short(const struct sk_resource *r, const char *s)
{
    for (size_t i = 0; i < SK_ARRAY_LEN(r->short_names) && r->short_names[i]; i++)
        if (!strcmp(r->short_names[i], s)) return true;
    return false;
}

static bool has_fs(const struct sk_resource *r, const char *f)
{
    for (size_t i = 0; r->field_selectors && r->field_selectors[i]; i++)
        if (!strcmp(r->field_selectors[i], f)) return true;
    return false;
}

static const struct sk_resource *by_short(const char *s)
{
    size_t n;
    const struct sk_resource *const *rs = sk_resources(&n);
    for (size_t i = 0; i < n; i++)
        if (has_short(rs[i], s)) return rs[i];
    return NULL;
}

/* Every hook must survive objects of the wrong shape (fields of other
 * types, nulls, huge numbers) without crashing. */
static void test_odd_shapes(void)
{
    static const char *const odd[] = {
        "{}",
        "{\"metadata\":5,\"spec\":\"x\",\"status\":[]}",
        "{\"metadata\":{\"name\":7,\"labels\":[1],\"annotations\":\"a\",\"creationTimestamp\":\"garbage\"},"
        "\"spec\":{\"containers\":{\"a\":1},\"ports\":[5,null,{\"port\":\"x\",\"nodePort\":-1}],"
        "\"selector\":{\"matchLabels\":[],\"matchExpressions\":[{\"operator\":3}]},\"template\":[]},"
        "\"data\":[1],\"subsets\":[{\"addresses\":[1,{\"ip\":2}],\"ports\":[{}]}]}",
        "{\"metadata\":{\"name\":\"x\",\"namespace\":\"d\",\"ownerReferences\":[{\"controller\":true}]},"
        "\"spec\":{\"replicas\":9223372036854775807,\"template\":{\"spec\":{\"containers\":[null,{\"ports\":[{}],"
        "\"env\":[{}],\"volumeMounts\":[{}],\"resources\":{\"limits\":{\"cpu\":1}}}],\"volumes\":[{}]}},"
        "\"jobTemplate\":5,\"type\":\"LoadBalancer\",\"ports\":[]},\"status\":{\"containerStatuses\":[{\"state\":"
        "{\"terminated\":{}}},5],\"initContainerStatuses\":[{}],\"loadBalancer\":{\"ingress\":[{},{\"ip\":\"1\"}]},"
        "\"hard\":{\"cpu\":1},\"conditions\":[{\"type\":\"Ready\"}]},\"series\":{},\"involvedObject\":[],\"roleRef\":5}",
    };
    size_t n;
    const struct sk_resource *const *rs = sk_resources(&n);
    for (size_t k = 0; k < SK_ARRAY_LEN(odd); k++) {
        for (size_t i = 0; i < n; i++) {
            json_t *o = json_loads(odd[k], 0, NULL), *old = json_loads(odd[k], 0, NULL);
            REQUIRE_VOID(o && old);
            sk_default_object(rs[i], o);
            sk_err err = SK_ERR_INIT;
            int rc = sk_validate_object(rs[i], o, old, &err);
            (void)rc;
            sk_err_clear(&err);
            const json_t *objs[] = {o};
            json_decref(sk_table(rs[i], objs, 1, true, 0));
            json_decref(o);
            json_decref(old);
        }
    }
}

int main(void)
{
    test_odd_shapes();
    const struct sk_resource *r = sk_resource_find("", "v1", "pods");
    REQUIRE(r);
    CHECK_STR(r->kind, "Pod");
    CHECK_STR(r->singular, "pod");
    CHECK(r->namespaced);
    CHECK(has_short(r, "po"));
    CHECK_STR(r->categories[0], "all");
    CHECK_INT(r->verbs, SK_V_ALL);
    CHECK(r->subresources & SK_SUB_STATUS);
    CHECK(r->subresources & SK_SUB_EXEC);
    CHECK(!r->spec_generation);
    CHECK(has_fs(r, "spec.nodeName"));
    CHECK(has_fs(r, "status.phase"));
    CHECK(!has_fs(r, "spec.bogus"));
    CHECK(r->row && r->columns && r->defaults && r->validate);

    r = sk_resource_find("apps", "v1", "deployments");
    REQUIRE(r);
    CHECK(has_short(r, "deploy"));
    CHECK(r->subresources & SK_SUB_SCALE);
    CHECK(r->spec_generation);
    char buf[64];
    CHECK_STR(sk_resource_api_version(r, buf, sizeof buf), "apps/v1");
    CHECK_STR(sk_resource_api_version(sk_resource_find("", "v1", "nodes"), buf, sizeof buf), "v1");

    CHECK(!sk_resource_find("apps", "v1", "pods"));
    CHECK(!sk_resource_find("", "v2", "pods"));
    CHECK(!sk_resource_find("", "v1", "po"));
    CHECK(!sk_resource_find(NULL, "v1", "pods"));

    /* Short names resolve through the table, as kubectl does from discovery. */
    static const char *const shorts[][2] = {
        {"ns", "namespaces"}, {"svc", "services"}, {"ep", "endpoints"}, {"cm", "configmaps"},
        {"no", "nodes"}, {"sa", "serviceaccounts"}, {"quota", "resourcequotas"},
        {"limits", "limitranges"}, {"pv", "persistentvolumes"},
        {"pvc", "persistentvolumeclaims"}, {"rs", "replicasets"}, {"sts", "statefulsets"},
        {"ds", "daemonsets"}, {"cj", "cronjobs"},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(shorts); i++) {
        const struct sk_resource *s = by_short(shorts[i][0]);
        CHECK(s && !strcmp(s->plural, shorts[i][1]));
    }
    /* "ev" is on both event kinds; core comes first in discovery order. */
    r = by_short("ev");
    CHECK(r && !strcmp(r->group, ""));

    r = sk_resource_by_kind("", "Event");
    CHECK(r && !strcmp(r->group, ""));
    r = sk_resource_by_kind("events.k8s.io", "Event");
    CHECK(r && !strcmp(r->plural, "events"));
    CHECK(!sk_resource_by_kind("", "Deployment"));

    r = sk_resource_find("", "v1", "namespaces");
    CHECK(r && !r->namespaced && !(r->verbs & SK_V_DELETECOLLECTION));
    r = sk_resource_find("", "v1", "nodes");
    CHECK(r && !r->namespaced && (r->subresources & SK_SUB_PROXY));
    r = sk_resource_find("", "v1", "bindings");
    CHECK(r && r->verbs == SK_V_CREATE && r->namespaced);
    r = sk_resource_find("authorization.k8s.io", "v1", "selfsubjectaccessreviews");
    CHECK(r && r->verbs == SK_V_CREATE && !r->namespaced);
    r = sk_resource_find("discovery.k8s.io", "v1", "endpointslices");
    CHECK(r && r->spec_generation);
    r = sk_resource_find("rbac.authorization.k8s.io", "v1", "clusterroles");
    CHECK(r && !r->namespaced && !r->columns);
    r = sk_resource_find("batch", "v1", "jobs");
    CHECK(r && has_fs(r, "status.successful") && r->spec_generation);

    /* Discovery order: groups in priority order, core first. */
    const char *const *g = sk_groups();
    CHECK_STR(g[0], "");
    CHECK_STR(g[1], "apps");
    size_t n, ng = 0;
    while (g[ng]) ng++;
    CHECK_INT(ng, 9); /* ..., certificates.k8s.io */
    const struct sk_resource *const *rs = sk_resources(&n);
    CHECK(n >= 30);
    size_t gi = 0;
    for (size_t i = 0; i < n; i++) {
        while (gi < ng && strcmp(g[gi], rs[i]->group)) gi++;
        CHECK(gi < ng); /* every resource's group listed, in order */
        CHECK(rs[i]->plural && rs[i]->kind && rs[i]->singular);
        CHECK(sk_resource_find(rs[i]->group, rs[i]->version, rs[i]->plural) == rs[i]);
    }
    /* Defaults on a kind without a hook are a no-op. */
    json_t *o = json_pack("{s:{s:s}}", "metadata", "name", "x");
    sk_default_object(sk_resource_find("", "v1", "limitranges"), o);
    CHECK_INT(json_object_size(o), 1);
    json_decref(o);
    return test_done();
}
