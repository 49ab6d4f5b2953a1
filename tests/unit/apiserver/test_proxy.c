/* Proxy helpers: NAME:PORT parsing, Location rewriting, path escaping. */
#include "apiserver/proxy_int.h"
#include "unit/test.h"

static void split_ok(const char *id, const char *scheme, const char *name, const char *port)
{
    char s[8], n[64], p[16];
    CHECK(sk_proxy_split_name(id, s, sizeof s, n, sizeof n, p, sizeof p));
    CHECK_STR(s, scheme);
    CHECK_STR(n, name);
    CHECK_STR(p, port);
}

static void split_bad(const char *id)
{
    char s[8], n[64], p[16];
    CHECK(!sk_proxy_split_name(id, s, sizeof s, n, sizeof n, p, sizeof p));
}

static void rewrite(const char *loc, const char *want)
{
    char *got = sk_proxy_rewrite_location(loc, "10.0.0.5:8080", "127.0.0.1:8001",
                                          "/api/v1/namespaces/default/pods/web/proxy");
    CHECK_STR(got, want);
    free(got);
}

int main(void)
{
    split_ok("web", "", "web", "");
    split_ok("web:8080", "", "web", "8080");
    split_ok("web:http", "", "web", "http");
    split_ok("https:web:443", "https", "web", "443");
    split_ok("http:web:", "http", "web", "");
    split_bad("");
    split_bad(":80");
    split_bad("ftp:web:21");
    split_bad("a:b:c:d");
    split_bad("https::443");
    split_bad("web:80@169.254.169.254"); /* the port must not change the backend host */
    split_bad("web:80/x");
    split_bad("http:web:80#");
    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    split_bad(big); /* longer than the name buffer */

    rewrite("/login", "/api/v1/namespaces/default/pods/web/proxy/login");
    rewrite("/", "/api/v1/namespaces/default/pods/web/proxy/");
    rewrite("http://10.0.0.5:8080/a?b=1", "/api/v1/namespaces/default/pods/web/proxy/a?b=1");
    rewrite("http://127.0.0.1:8001/x", "/api/v1/namespaces/default/pods/web/proxy/x");
    rewrite("https://example.com/x", "https://example.com/x");
    rewrite("relative/path", "relative/path");
    rewrite("/api/v1/namespaces/default/pods/web/proxy/y", "/api/v1/namespaces/default/pods/web/proxy/y");
    rewrite("//10.0.0.5:8080/z", "/api/v1/namespaces/default/pods/web/proxy/z");
    rewrite("http://10.0.0.5:8080", "http://10.0.0.5:8080");

    sk_buf b = SK_BUF_INIT;
    sk_proxy_escape_path(&b, "/a b/%/é?#/ok:@");
    CHECK_STR(b.data, "/a%20b/%25/%C3%A9%3F%23/ok:@");
    sk_buf_release(&b);
    return test_done();
}
