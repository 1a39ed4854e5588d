/*
 * tap.h - a tiny header-only helper for unit tests that speak TAP (the Test
 * Anything Protocol read by automake's tap-driver.sh).  A test program
 * includes it from its one .c file, calls plan(n) first or done_testing()
 * last, reports with ok/is_int/is_str/contains/diag, and returns
 * done_testing() (or exit_status() after a plan) from main, so the exit
 * status is non-zero when any test failed or the count is off.
 *
 * Everything is static: each test program gets its own counters, and
 * unused helpers cost nothing.
 */
#ifndef HW_TAP_H
#define HW_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap__planned = -1; /* -1: no plan printed yet */
static int tap__run;
static int tap__failed;

/* gnu_printf on mingw: the "printf" archetype there is msvcrt's, which
 * knows no %zu or %lld; the tests include autoconf.h first, whose
 * __USE_MINGW_ANSI_STDIO gives them mingw's C99 printf (as server/os.h's
 * HW__PRINTF, not included here: it brings the socket headers). */
#if defined(__MINGW32__)
#define TAP__PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#elif defined(__GNUC__)
#define TAP__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TAP__PRINTF(f, a)
#endif

/* Prints the plan "1..n" up front. */
static inline void plan(int n) {
  tap__planned = n;
  printf("1..%d\n", n);
  fflush(stdout);
}

/*
 * Writes a diagnostic line (or several) as TAP comments.  It goes to
 * stdout so that it lands in the test's log right next to the failure it
 * explains.
 */
static inline void diag(const char *fmt, ...) TAP__PRINTF(1, 2);
static inline void diag(const char *fmt, ...) {
  char buf[4096];
  const char *line = buf;
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  /* Every line needs its own "# " or the TAP reader sees garbage. */
  for (;;) {
    const char *nl = strchr(line, '\n');
    int n = nl != NULL ? (int)(nl - line) : (int)strlen(line);
    printf("# %.*s\n", n, line);
    if (nl == NULL || nl[1] == '\0')
      break;
    line = nl + 1;
  }
  fflush(stdout);
}

static inline int tap__ok(int cond, const char *file, int line, const char *fmt,
                          ...) TAP__PRINTF(4, 5);
static inline int tap__ok(int cond, const char *file, int line, const char *fmt,
                          ...) {
  char name[1024];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(name, sizeof(name), fmt, ap);
  va_end(ap);
  /* A newline or '#' in a name would be read as TAP syntax. */
  for (char *p = name; *p != '\0'; p++)
    if (*p == '\n' || *p == '\r' || *p == '#')
      *p = ' ';
  tap__run++;
  if (!cond)
    tap__failed++;
  printf("%s %d - %s\n", cond ? "ok" : "not ok", tap__run, name);
  if (!cond)
    diag("  Failed test at %s line %d.", file, line);
  fflush(stdout);
  return cond;
}

/* ok(cond, "name %d", ...): passes when cond is true. */
#define ok(cond, ...) tap__ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

static inline int tap__is_int(long long got, long long want, const char *name,
                              const char *file, int line) {
  int r = tap__ok(got == want, file, line, "%s", name);
  if (!r)
    diag("         got: %lld\n    expected: %lld", got, want);
  return r;
}

/* is_int(got, want, name): integer equality, showing both on failure. */
#define is_int(got, want, name)                                                \
  tap__is_int((long long)(got), (long long)(want), (name), __FILE__, __LINE__)

static inline int tap__is_str(const char *got, const char *want,
                              const char *name, const char *file, int line) {
  int same =
      (got == NULL || want == NULL) ? got == want : strcmp(got, want) == 0;
  int r = tap__ok(same, file, line, "%s", name);
  if (!r)
    diag("         got: %s%s%s\n    expected: %s%s%s", got ? "\"" : "",
         got ? got : "NULL", got ? "\"" : "", want ? "\"" : "",
         want ? want : "NULL", want ? "\"" : "");
  return r;
}

/* is_str(got, want, name): string equality; NULL equals only NULL. */
#define is_str(got, want, name)                                                \
  tap__is_str((got), (want), (name), __FILE__, __LINE__)

static inline int tap__contains(const char *haystack, const char *needle,
                                const char *name, const char *file, int line) {
  int found =
      haystack != NULL && needle != NULL && strstr(haystack, needle) != NULL;
  int r = tap__ok(found, file, line, "%s", name);
  if (!r)
    diag("    \"%s\"\n    does not contain \"%s\"",
         haystack ? haystack : "(NULL)", needle ? needle : "(NULL)");
  return r;
}

/* contains(haystack, needle, name): passes when needle occurs in haystack. */
#define contains(haystack, needle, name)                                       \
  tap__contains((haystack), (needle), (name), __FILE__, __LINE__)

/*
 * skip(n, "why"): counts `n` tests that cannot mean anything here (on
 * this system) as passed with a TAP "# skip" directive and the reason, so
 * that a plan and the other systems' counts still hold.
 */
static inline void skip(int n, const char *why) {
  for (int i = 0; i < n; i++) {
    tap__run++;
    printf("ok %d # skip %s\n", tap__run, why);
  }
  fflush(stdout);
}

/* The exit status for main: 0 only if every test passed and the plan held. */
static inline int exit_status(void) {
  if (tap__planned >= 0 && tap__planned != tap__run) {
    diag("planned %d tests but ran %d", tap__planned, tap__run);
    return 1;
  }
  return tap__failed != 0 ? 1 : 0;
}

/*
 * Ends the run: prints the plan now if plan() was not called, and returns
 * the exit status, so `return done_testing();` ends main.
 */
static inline int done_testing(void) {
  if (tap__planned < 0) {
    tap__planned = tap__run;
    printf("1..%d\n", tap__run);
    fflush(stdout);
  }
  if (tap__failed != 0)
    diag("failed %d of %d tests", tap__failed, tap__run);
  return exit_status();
}

#endif /* HW_TAP_H */
