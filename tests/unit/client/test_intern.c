/* sk_json_intern: equal values share one copy (members in any order),
 * different values do not, values still in use survive the sweeps that a
 * full table triggers, and big values are not shared. */
#include <string.h>

#include "client/client.h"
#include "unit/test.h"

static json_t *labels(int i)
{
    char v[32];
    snprintf(v, sizeof v, "rs-%d", i);
    return json_pack("{s:s,s:s}", "app", "web", "pod-template-hash", v);
}

int main(void)
{
    /* equal values, built separately and in another member order */
    json_t *a = json_pack("{s:s,s:s}", "app", "web", "tier", "front");
    json_t *b = json_pack("{s:s,s:s}", "tier", "front", "app", "web");
    json_t *ia = sk_json_intern(a), *ib = sk_json_intern(b);
    CHECK(ia == ib);
    CHECK(json_equal(ia, b));
    json_t *c = json_pack("{s:s,s:s}", "app", "web", "tier", "back");
    json_t *ic = sk_json_intern(c);
    CHECK(ic != ia);
    CHECK_STR(sk_json_str(ic, "tier"), "back");
    CHECK(sk_json_intern(NULL) == NULL);

    /* 50,000 distinct values, each dropped at once: shards fill and are
     * swept; the values kept above (still referenced) survive */
    for (int i = 0; i < 50000; i++) {
        json_t *v = labels(i);
        json_t *s = sk_json_intern(v);
        if (!json_equal(s, v)) {
            CHECK(json_equal(s, v));
            break;
        }
        json_decref(s);
        json_decref(v);
    }
    json_t *again = json_pack("{s:s,s:s}", "app", "web", "tier", "front");
    json_t *ia2 = sk_json_intern(again);
    CHECK(ia2 == ia); /* still shared after the sweeps */
    CHECK_STR(sk_json_str(ia2, "tier"), "front");

    /* many live values: a full shard stops sharing but still answers */
    json_t *live[40000];
    for (int i = 0; i < 40000; i++) {
        json_t *v = labels(100000 + i);
        live[i] = sk_json_intern(v);
        json_decref(v);
    }
    int ok = 0;
    for (int i = 0; i < 40000; i++) {
        char want[32];
        snprintf(want, sizeof want, "rs-%d", 100000 + i);
        ok += !strcmp(sk_json_str(live[i], "pod-template-hash") ?: "", want);
    }
    CHECK_INT(ok, 40000);
    for (int i = 0; i < 40000; i++) json_decref(live[i]);

    /* a value of more than 256 nodes is handed back as is */
    json_t *big = json_array();
    for (int i = 0; i < 300; i++) json_array_append_new(big, json_integer(i));
    json_t *ibig = sk_json_intern(big);
    CHECK(ibig == big);
    json_decref(ibig);
    json_decref(big);

    json_decref(ia2);
    json_decref(again);
    json_decref(ia);
    json_decref(ib);
    json_decref(ic);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    return test_done();
}
