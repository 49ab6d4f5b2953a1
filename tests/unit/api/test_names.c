/* Name and label validation messages, as apimachinery v0.32. */
#include "api/patch.h"
#include "unit/test.h"

#define LABEL_MSG                                                                                 \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and " \
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "   \
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define SUB_MSG                                                                                   \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or " \
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used " \
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define QMSG                                                                                     \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an " \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "      \
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define VMSG                                                                                       \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', " \
    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "   \
    "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

static char *rep(char c, int n)
{
    char *s = malloc((size_t)n + 1);
    memset(s, c, (size_t)n);
    s[n] = 0;
    return s;
}

int main(void)
{
    char *a63 = rep('a', 63), *a64 = rep('a', 64), *a253 = rep('a', 253), *a254 = rep('a', 254);
    char *A64 = rep('A', 64);

    CHECK(sk_check_dns1123_label("my-name") == NULL);
    CHECK(sk_check_dns1123_label("123-abc") == NULL);
    CHECK(sk_check_dns1123_label("a") == NULL);
    CHECK(sk_check_dns1123_label(a63) == NULL);
    CHECK_STR(sk_check_dns1123_label(""), LABEL_MSG);
    CHECK_STR(sk_check_dns1123_label("-a"), LABEL_MSG);
    CHECK_STR(sk_check_dns1123_label("a-"), LABEL_MSG);
    CHECK_STR(sk_check_dns1123_label("My"), LABEL_MSG);
    CHECK_STR(sk_check_dns1123_label("a_b"), LABEL_MSG);
    CHECK_STR(sk_check_dns1123_label("a.b"), "must not contain dots");
    CHECK_STR(sk_check_dns1123_label(a64), "must be no more than 63 characters");
    CHECK_STR(sk_check_dns1123_label(A64), "must be no more than 63 characters; " LABEL_MSG);

    CHECK(sk_check_dns1123_subdomain("example.com") == NULL);
    CHECK(sk_check_dns1123_subdomain("a") == NULL);
    CHECK(sk_check_dns1123_subdomain(a253) == NULL);
    CHECK_STR(sk_check_dns1123_subdomain(a254), "must be no more than 253 characters");
    CHECK_STR(sk_check_dns1123_subdomain("Example.com"), SUB_MSG);
    CHECK_STR(sk_check_dns1123_subdomain("a..b"), SUB_MSG);
    CHECK_STR(sk_check_dns1123_subdomain(".a"), SUB_MSG);
    CHECK_STR(sk_check_dns1123_subdomain("a."), SUB_MSG);
    CHECK_STR(sk_check_dns1123_subdomain(""), SUB_MSG);
    CHECK_STR(sk_check_dns1123_subdomain(NULL), SUB_MSG);

    CHECK(sk_check_label_key("app") == NULL);
    CHECK(sk_check_label_key("MyName") == NULL);
    CHECK(sk_check_label_key("my.name_x-y") == NULL);
    CHECK(sk_check_label_key("example.com/app") == NULL);
    CHECK(sk_check_label_key("kubernetes.io/cluster-service") == NULL);
    CHECK(sk_check_label_key(a63) == NULL);
    CHECK_STR(sk_check_label_key(""), "name part must be non-empty; name part " QMSG);
    CHECK_STR(sk_check_label_key("-app"), "name part " QMSG);
    CHECK_STR(sk_check_label_key("a b"), "name part " QMSG);
    CHECK_STR(sk_check_label_key(a64), "name part must be no more than 63 characters");
    CHECK_STR(sk_check_label_key("/app"), "prefix part must be non-empty");
    CHECK_STR(sk_check_label_key("app/"), "name part must be non-empty; name part " QMSG);
    CHECK_STR(sk_check_label_key("Example.com/app"), "prefix part " SUB_MSG);
    CHECK_STR(sk_check_label_key("a/b/c"), "a qualified name " QMSG
              " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
    CHECK_STR(sk_check_label_key("-x/-y"), "prefix part " SUB_MSG "; name part " QMSG);

    CHECK(sk_check_label_value("") == NULL);
    CHECK(sk_check_label_value(NULL) == NULL);
    CHECK(sk_check_label_value("MyValue") == NULL);
    CHECK(sk_check_label_value("my_value") == NULL);
    CHECK(sk_check_label_value("12345") == NULL);
    CHECK(sk_check_label_value(a63) == NULL);
    CHECK_STR(sk_check_label_value("-x"), VMSG);
    CHECK_STR(sk_check_label_value("a/b"), VMSG);
    CHECK_STR(sk_check_label_value(a64), "must be no more than 63 characters");
    CHECK_STR(sk_check_label_value("\xc3\xa9"), VMSG);

    free(a63);
    free(a64);
    free(a253);
    free(a254);
    free(A64);
    return test_done();
}
