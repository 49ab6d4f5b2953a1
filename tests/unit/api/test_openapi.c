/* OpenAPI v3 index and documents: what kubectl apply/edit/explain need. */
#include <string.h>

#include "api/api.h"
#include "unit/test.h"

#define REQUIRE_V(c) do { if (!(c)) { CHECK(c); return; } } while (0)

static const char *str_at(const json_t *o, const char *a, const char *b)
{
    json_t *x = json_object_get(o, a);
    return json_string_value(b ? json_object_get(x, b) : x);
}

/* Does some patch operation carry Deployment's GVK and fieldValidation? */
static bool has_validated_patch(const json_t *doc, const char *g, const char *v, const char *k)
{
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(doc, "paths"), path, item) {
        json_t *op = json_object_get(item, "patch");
        json_t *gvk = json_object_get(op, "x-kubernetes-group-version-kind");
        if (!op || strcmp(str_at(gvk, "group", NULL), g) || strcmp(str_at(gvk, "version", NULL), v) ||
            strcmp(str_at(gvk, "kind", NULL), k))
            continue;
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(op, "parameters"), i, p) {
            if (!strcmp(str_at(p, "name", NULL), "fieldValidation") &&
                !strcmp(str_at(p, "in", NULL), "query"))
                return true;
        }
    }
    return false;
}

/* A $ref or allOf[0].$ref of a property schema. */
static const char *prop_ref(const json_t *prop)
{
    const char *r = str_at(prop, "$ref", NULL);
    if (r) return r;
    return str_at(json_array_get(json_object_get(prop, "allOf"), 0), "$ref", NULL);
}

static void test_index(void)
{
    json_t *idx = sk_openapi_v3_index();
    REQUIRE_V(idx);
    json_t *paths = json_object_get(idx, "paths");
    const char *core = str_at(json_object_get(paths, "api/v1"), "serverRelativeURL", NULL);
    const char *apps = str_at(json_object_get(paths, "apis/apps/v1"), "serverRelativeURL", NULL);
    CHECK(core && !strncmp(core, "/openapi/v3/api/v1?hash=", 24) && strlen(core) > 24);
    CHECK(apps && !strncmp(apps, "/openapi/v3/apis/apps/v1?hash=", 30));
    json_t *again = sk_openapi_v3_index();
    CHECK(json_equal(idx, again));
    json_decref(again);
    json_decref(idx);
}

static void test_apps_doc(void)
{
    json_t *doc = sk_openapi_v3_doc("apis/apps/v1");
    REQUIRE_V(doc);
    CHECK(has_validated_patch(doc, "apps", "v1", "Deployment"));
    CHECK(has_validated_patch(doc, "apps", "v1", "StatefulSet"));
    CHECK(!has_validated_patch(doc, "", "v1", "Pod"));

    json_t *item = json_object_get(json_object_get(doc, "paths"),
                                   "/apis/apps/v1/namespaces/{namespace}/deployments/{name}");
    CHECK(json_object_get(item, "get") && json_object_get(item, "put") &&
          json_object_get(item, "delete"));
    CHECK(json_object_get(json_object_get(doc, "paths"),
                          "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"));

    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    json_t *container = json_object_get(schemas, "io.k8s.api.core.v1.Container");
    REQUIRE_V(container);
    CHECK(json_object_get(json_object_get(container, "properties"), "image"));
    json_t *dep = json_object_get(schemas, "io.k8s.api.apps.v1.Deployment");
    REQUIRE_V(dep);
    json_t *gvk = json_array_get(json_object_get(dep, "x-kubernetes-group-version-kind"), 0);
    CHECK_STR(str_at(gvk, "kind", NULL), "Deployment");
    CHECK_STR(str_at(gvk, "group", NULL), "apps");

    json_t *spec = json_object_get(schemas, "io.k8s.api.apps.v1.DeploymentSpec");
    json_t *props = json_object_get(spec, "properties");
    CHECK_STR(prop_ref(json_object_get(props, "template")),
              "#/components/schemas/io.k8s.api.core.v1.PodTemplateSpec");
    CHECK_STR(str_at(json_object_get(props, "strategy"), "x-kubernetes-patch-strategy", NULL),
              "retainKeys");
    CHECK(json_object_get(schemas, "io.k8s.api.core.v1.PodSpec") != NULL);
    json_t *ps = json_object_get(json_object_get(schemas, "io.k8s.api.core.v1.PodSpec"),
                                 "properties");
    json_t *containers = json_object_get(ps, "containers");
    CHECK_STR(str_at(containers, "type", NULL), "array");
    CHECK_STR(str_at(containers, "x-kubernetes-patch-merge-key", NULL), "name");
    CHECK_STR(prop_ref(json_object_get(containers, "items")),
              "#/components/schemas/io.k8s.api.core.v1.Container");

    json_t *ios = json_object_get(schemas, "io.k8s.apimachinery.pkg.util.intstr.IntOrString");
    CHECK_STR(str_at(ios, "format", NULL), "int-or-string");
    json_t *tm = json_object_get(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.Time");
    CHECK_STR(str_at(tm, "format", NULL), "date-time");
    CHECK(json_object_get(schemas, "io.k8s.api.autoscaling.v1.Scale") != NULL);

    /* every $ref resolves */
    char *text = json_dumps(doc, JSON_COMPACT);
    for (const char *p = text; (p = strstr(p, "\"$ref\":\"#/components/schemas/")); p++) {
        const char *name = p + strlen("\"$ref\":\"#/components/schemas/");
        const char *end = strchr(name, '"');
        char buf[256];
        snprintf(buf, sizeof buf, "%.*s", (int)(end - name), name);
        if (!json_object_get(schemas, buf)) {
            fprintf(stderr, "unresolved $ref %s\n", buf);
            test_failures++;
        }
    }
    free(text);
    json_decref(doc);
}

static void test_core_doc(void)
{
    json_t *doc = sk_openapi_v3_doc("/api/v1");
    REQUIRE_V(doc);
    CHECK(has_validated_patch(doc, "", "v1", "Pod"));
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    json_t *pod = json_object_get(schemas, "io.k8s.api.core.v1.Pod");
    json_t *gvk = json_array_get(json_object_get(pod, "x-kubernetes-group-version-kind"), 0);
    CHECK_STR(str_at(gvk, "group", NULL), "");
    CHECK(json_object_get(json_object_get(doc, "paths"), "/api/v1/nodes/{name}") != NULL);
    CHECK(sk_openapi_v3_doc("apis/nope/v1") == NULL);
    json_decref(doc);
}

int main(void)
{
    test_index();
    test_apps_doc();
    test_core_doc();
    return test_done();
}
