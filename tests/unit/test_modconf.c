/*
 * test_modconf.c - unit tests of the route config accessors of ABI 1.2
 * (server/modconf.c), called through the host table as a module calls
 * them: the root only for the pointer init was given, paths of members and
 * elements, each type, the place every complaint names, unknown keys, a
 * module's own complaint, malformed paths, and refusal outside an init
 * (HW_ESTATE) and of a handle kept from an earlier init.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "host.h"
#include "modconf.h"
#include "tap.h"

static const hw_host *h = &hw__host;

static const char text[] =
    "{\"ttl\": 30, \"ratio\": 0.5, \"big\": 1e3, \"on\": true, \"off\": false,"
    " \"nothing\": null, \"name\": \"a\\u0000b\","
    " \"db\": {\"hosts\": [{\"port\": 5432}, {\"port\": \"x\"}]},"
    " \"a.b\": 1, \"z\": 1, \"m\": 2, \"list\": [1, \"two\", [3]]}";

static int str_is(hw_str s, const char *want, size_t len) {
  return s.len == len && memcmp(s.data, want, len) == 0;
}

static void test_values(const hw_conf *root) {
  char err[256];
  int64_t i = -1;
  double d = 0;
  int b = -1;
  hw_str s = {0};

  is_int(h->conf_type(root), HW_CONF_OBJECT, "the root is an object");
  is_int(h->conf_int(root, "ttl", &i, err, sizeof(err)), 0, "ttl: an integer");
  is_int(i, 30, "ttl is 30");
  is_int(h->conf_number(root, "ratio", &d, err, sizeof(err)), 0,
         "ratio: a number");
  ok(d == 0.5, "ratio is 0.5");
  is_int(h->conf_number(root, "ttl", &d, err, sizeof(err)), 0,
         "an integer is also a number");
  ok(d == 30.0, "as 30.0");
  is_int(h->conf_type(h->conf_find(root, "big")), HW_CONF_NUMBER,
         "1e3 is a number, not an integer (it has an exponent)");
  is_int(h->conf_bool(root, "on", &b, err, sizeof(err)), 0, "on: a boolean");
  is_int(b, 1, "on is 1");
  is_int(h->conf_bool(root, "off", &b, err, sizeof(err)), 0, "off: a boolean");
  is_int(b, 0, "off is 0");
  is_int(h->conf_type(h->conf_find(root, "nothing")), HW_CONF_NULL,
         "null has its own type");
  is_int(h->conf_string(root, "name", &s, err, sizeof(err)), 0,
         "name: a string");
  ok(str_is(s, "a\0b", 3), "a string holding NUL keeps its length");
  is_int(h->conf_int(root, "db.hosts[0].port", &i, err, sizeof(err)), 0,
         "a path through members and elements");
  is_int(i, 5432, "db.hosts[0].port is 5432");
  is_int(h->conf_int(h->conf_find(root, "db.hosts[0]"), "port", &i, err,
                     sizeof(err)),
         0, "a path below a found value");
  is_int(h->conf_int(root, "db.hosts[2].port", &i, err, sizeof(err)),
         HW_ENOENT, "past the end of an array: absent");
  is_int(h->conf_int(root, "missing", &i, err, sizeof(err)), HW_ENOENT,
         "a missing key: absent");
  is_int(h->conf_int(root, "ttl.x", &i, err, sizeof(err)), HW_EINVAL,
         "a member of an integer: an error, not a default");
  is_str(err, "routes[3].config.ttl: expected an object, not an integer",
         "naming the value that is no object");
  is_int(h->conf_int(root, "name[0]", &i, err, sizeof(err)), HW_EINVAL,
         "an element of a string: an error");
  is_str(err, "routes[3].config.name: expected an array, not a string",
         "naming the value that is no array");
  is_int(h->conf_int(root, "db.nope.deeper", &i, err, sizeof(err)), HW_ENOENT,
         "below a missing member: absent");
  {
    static const char *const bad[] = {"db..hosts", "ttl.",  ".ttl",
                                      "list[-1]",  "list[ 1]", "list[1]x",
                                      "list[",     "list[]", "db.[0]"};
    int all = 1;
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
      err[0] = '\0';
      if (h->conf_int(root, bad[k], &i, err, sizeof(err)) != HW_EINVAL ||
          strstr(err, "malformed path") == NULL) {
        diag("%s: %s", bad[k], err);
        all = 0;
      }
      if (h->conf_find(root, bad[k]) != NULL)
        all = 0;
    }
    ok(all, "malformed paths: HW_EINVAL saying so; conf_find gives NULL");
  }
  is_int(h->conf_int(NULL, "x", &i, err, sizeof(err)), HW_ENOENT,
         "a NULL handle inside init is an absent value");
  is_int(h->conf_int(h->conf_find(root, "db.nope"), "port", &i, err,
                     sizeof(err)),
         HW_ENOENT, "so lookups chain through conf_find");
  ok(h->conf_find(root, "") == root && h->conf_find(root, NULL) == root,
     "an empty path is the value itself");
  is_int(h->conf_type(NULL), HW_CONF_ABSENT, "the type of NULL is absent");
}

static void test_errors(const hw_conf *root) {
  char err[256];
  int64_t i;
  hw_str s;
  int b;
  static const char *const keys[] = {"ttl",     "ratio", "big", "on",
                                     "off",     "nothing", "name", "db",
                                     "a.b",     "z",     "m",   "list",
                                     NULL};
  static const char *const fewer[] = {"ttl", NULL};

  err[0] = '\0';
  is_int(h->conf_int(root, "db.hosts[1].port", &i, err, sizeof(err)),
         HW_EINVAL, "a string where an integer is wanted");
  is_str(err, "routes[3].config.db.hosts[1].port: expected an integer, not a "
              "string",
         "the message names the place, what was wanted and what was found");
  is_int(h->conf_string(root, "ttl", &s, err, sizeof(err)), HW_EINVAL,
         "an integer where a string is wanted");
  is_str(err, "routes[3].config.ttl: expected a string, not an integer",
         "the message names the key");
  is_int(h->conf_bool(root, "ratio", &b, err, sizeof(err)), HW_EINVAL,
         "a number where a boolean is wanted");
  is_str(err, "routes[3].config.ratio: expected a boolean, not a number",
         "names the types");
  is_int(h->conf_int(root, "ratio", &i, err, sizeof(err)), HW_EINVAL,
         "a fraction where an integer is wanted");
  is_int(h->conf_int(root, "ttl", &i, NULL, 0), 0,
         "no error buffer is needed when all is well");
  is_int(h->conf_string(root, "ttl", &s, NULL, 0), HW_EINVAL,
         "nor to learn of a wrong type");
  is_int(h->conf_keys(root, keys, err, sizeof(err)), 0,
         "conf_keys: every key is known");
  is_int(h->conf_keys(root, fewer, err, sizeof(err)), HW_EINVAL,
         "conf_keys: an unknown key");
  is_str(err, "routes[3].config: unknown key \"ratio\"",
         "the first unknown key, in the order of the file");
  is_int(h->conf_keys(h->conf_find(root, "list"), keys, err, sizeof(err)),
         HW_EINVAL, "conf_keys: not an object");
  is_str(err, "routes[3].config.list: expected an object, not an array",
         "says what it found");
  is_int(h->conf_error(root, "db.hosts[0].port", "must be above 6000", err,
                       sizeof(err)),
         HW_EINVAL, "conf_error returns HW_EINVAL");
  is_str(err, "routes[3].config.db.hosts[0].port: must be above 6000",
         "conf_error names the place of the path");
  h->conf_error(root, "db.nope[4]", "is required", err, sizeof(err));
  is_str(err, "routes[3].config.db.nope[4]: is required",
         "also of a path that does not exist");
  ok(h->conf_find(root, "a.b") == NULL,
     "a.b as a path is a member of a member (absent: reach it by conf_at)");
}

static void test_iteration(const hw_conf *root) {
  char err[256];
  const hw_conf *list = h->conf_find(root, "list"), *v;
  hw_str key = {0};
  int64_t i;

  is_int((long long)h->conf_count(list), 3, "an array's length");
  is_int((long long)h->conf_count(root), 12, "an object's member count");
  is_int((long long)h->conf_count(h->conf_find(root, "ttl")), 0,
         "the count of an integer is 0");
  ok(h->conf_int(h->conf_at(list, 0, NULL), NULL, &i, err, sizeof(err)) == 0 &&
         i == 1,
     "conf_at: element 0");
  v = h->conf_at(list, 2, NULL);
  is_int(h->conf_type(v), HW_CONF_ARRAY, "conf_at: element 2 is an array");
  h->conf_string(v, "[0]", &key, err, sizeof(err));
  is_str(err, "routes[3].config.list[2][0]: expected a string, not an integer",
         "an element's place");
  ok(h->conf_at(list, 3, NULL) == NULL, "conf_at past the end: NULL");
  key = (hw_str){"junk", 4};
  ok(h->conf_at(list, 0, &key) != NULL && key.data == NULL && key.len == 0,
     "conf_at on an array: no key");
  v = h->conf_at(root, 8, &key);
  ok(str_is(key, "a.b", 3), "conf_at on an object: the key, in file order");
  h->conf_string(v, NULL, &key, err, sizeof(err));
  is_str(err, "routes[3].config[\"a.b\"]: expected a string, not an integer",
         "a key that is no plain name is quoted in the place");
  v = h->conf_at(root, 9, &key);
  ok(str_is(key, "z", 1) && h->conf_type(v) == HW_CONF_INT,
     "member 9 is z (no reordering)");
  {
    /* Forwards, then backwards, then forwards again: the walk that
     * continues from the last call gives the same members. */
    static const char *const order[] = {"ttl", "ratio", "big",  "on",
                                        "off", "nothing", "name", "db",
                                        "a.b", "z",     "m",    "list"};
    int same = 1;
    for (size_t k = 0; k < 12; k++)
      same &= h->conf_at(root, k, &key) != NULL &&
              str_is(key, order[k], strlen(order[k]));
    for (size_t k = 12; k-- > 0;)
      same &= h->conf_at(root, k, &key) != NULL &&
              str_is(key, order[k], strlen(order[k]));
    same &= h->conf_at(root, 12, &key) == NULL && key.data == NULL;
    same &= h->conf_at(root, 11, &key) != NULL && str_is(key, "list", 4);
    ok(same, "every member in the order of the file, in any order asked");
  }
}

static void test_outside(void) {
  char err[64] = "";
  const hw_conf *root, *kept;
  int64_t i = 7;
  hw_str s;

  ok(h->config(text) == NULL, "config() before any init: NULL");
  hw__modconf_begin(0, text, sizeof(text) - 1);
  ok(h->config("{}") == NULL, "config() of another pointer: NULL");
  root = h->config(text);
  ok(root != NULL, "config() of init's pointer: the root");
  kept = h->conf_find(root, "ttl");
  hw__modconf_end();
  is_int(h->conf_int(kept, NULL, &i, err, sizeof(err)), HW_ESTATE,
         "a handle kept past init: HW_ESTATE");
  is_int(h->conf_string(root, "name", &s, err, sizeof(err)), HW_ESTATE,
         "any getter after init: HW_ESTATE");
  is_int(h->conf_keys(root, NULL, err, sizeof(err)), HW_ESTATE,
         "conf_keys after init: HW_ESTATE");
  is_int(h->conf_error(root, "x", "y", err, sizeof(err)), HW_ESTATE,
         "conf_error after init: HW_ESTATE");
  ok(i == 7 && err[0] == '\0', "nothing written on HW_ESTATE");
  ok(h->config(text) == NULL && h->conf_find(root, "ttl") == NULL &&
         h->conf_at(root, 0, NULL) == NULL && h->conf_count(root) == 0 &&
         h->conf_type(root) == HW_CONF_ABSENT,
     "the other accessors return nothing after init");

  /* A handle of the previous init is refused by the next one too. */
  hw__modconf_begin(1, text, sizeof(text) - 1);
  is_int(h->conf_int(kept, NULL, &i, err, sizeof(err)), HW_ESTATE,
         "a handle of an earlier init: HW_ESTATE in a later one");
  root = h->config(text);
  h->conf_int(root, "name", &i, err, sizeof(err));
  is_str(err, "routes[1].config.name: expected an integer, not a string",
         "the later init's route index");
  for (int k = 0; k < 100; k++)
    h->conf_find(root, "ttl");
  is_int(h->conf_int(kept, NULL, &i, err, sizeof(err)), HW_ESTATE,
         "still refused once the later init has made a hundred handles");
  hw__modconf_end();

  {
    char given[] = "[1, 2]", same[] = "[1, 2]";
    hw__modconf_begin(2, given, 6);
    ok(h->config(same) == NULL, "config() compares the pointer, not the text");
    ok(h->config(given) != NULL && h->conf_type(h->config(given)) ==
                                       HW_CONF_ARRAY,
       "any JSON value may be a config");
    hw__modconf_end();
  }
}

int main(void) {
  const hw_conf *root;

  test_outside();
  hw__modconf_begin(3, text, sizeof(text) - 1);
  root = h->config(text);
  ok(root != NULL, "the root of routes[3]'s config");
  if (root != NULL) {
    test_values(root);
    test_errors(root);
    test_iteration(root);
  }
  hw__modconf_end();
  return done_testing();
}
