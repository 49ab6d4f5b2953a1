/* Minimal unit-test helpers: CHECK records a failure and continues,
 * REQUIRE stops the test; main returns test_done(). */
#ifndef SK_TEST_H
#define SK_TEST_H
#include <stdio.h>
#include <string.h>

static int test_failures;
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); test_failures++; } } while (0)
#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #c); return 1; } } while (0)
#define CHECK_STR(a, b) do { const char *_a = (a), *_b = (b); if (!_a || !_b || strcmp(_a, _b)) { fprintf(stderr, "%s:%d: CHECK_STR failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, _a ? _a : "(null)", _b ? _b : "(null)"); test_failures++; } } while (0)
#define CHECK_INT(a, b) do { long long _a = (long long)(a), _b = (long long)(b); if (_a != _b) { fprintf(stderr, "%s:%d: CHECK_INT failed: %lld != %lld (%s)\n", __FILE__, __LINE__, _a, _b, #a); test_failures++; } } while (0)
static inline int test_done(void) { if (test_failures) fprintf(stderr, "%d check(s) failed\n", test_failures); return test_failures ? 1 : 0; }
#endif
