/*
 * counter.cpp - an example module in C++: named counters.
 *
 *   POST   <prefix>/NAME?by=N  adds N (default 1; may be negative) to
 *                              NAME's counter, which starts at 0, and
 *                              answers the new value
 *   GET    <prefix>/NAME       the value; 404 if NAME was never counted
 *   GET    <prefix>            every counter, one "NAME VALUE" line each,
 *                              sorted by name
 *   DELETE <prefix>/NAME       204, or 404
 *
 * NAME is 1 to 200 bytes of the path as received, without '/'.  HEAD
 * answers as GET; other methods get 405 with Allow.  The route config,
 * read with the ABI 1.2 accessors:
 *   {"max_names": 1000}
 * A new name past max_names gets 507 Insufficient Storage.  As with every
 * route state, the counters are per worker process: with "workers" above
 * 1 each worker counts for itself (run it with 0 or 1).
 *
 * What it shows: the descriptor comes from HW_MODULE_DEFINE, which gives
 * it C linkage from C++ too; the state is a class (std::unordered_map of
 * std::string) made in init and deleted in fini; and exceptions stay in
 * C++.  The code below the entry points reports failure by throwing, as
 * C++ does: `http_error` for what the client got wrong, carrying the status
 * that says so.  Each entry point is noexcept and catches everything,
 * because the host is C and cannot unwind: an exception that crossed into
 * it would terminate the worker.  An http_error becomes its answer; any
 * other exception - a counter pushed past the range of int64_t, which the
 * store refuses with std::overflow_error and nothing above it expects, or
 * std::bad_alloc - is logged and becomes HW_ERROR, which the host answers
 * 500, leaving the counter as it was.  The catch blocks call only the
 * host's C functions, so that nothing in them can throw again.
 *
 * Build it out of tree against an installed Haywire:
 *   c++ -std=c++17 -O2 -shared -fPIC $(pkg-config --cflags haywire) -Wl,-z,defs -o counter.so counter.cpp
 */
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "haywire.h"

namespace {

// What the client got wrong, with the status that says so (and, for 405,
// the methods it may use).
class http_error : public std::runtime_error {
public:
  http_error(int status, const char *what, const char *allow = nullptr)
      : std::runtime_error(what), status_(status), allow_(allow) {}
  int status() const noexcept {
    return status_;
  }
  const char *allow() const noexcept {
    return allow_;
  }

private:
  int status_;
  const char *allow_; // a static string, or nullptr
};

// The counters of one route.  Every member either does what it says or
// throws and changes nothing.
class counters {
public:
  explicit counters(std::size_t max_names) : max_names_(max_names) {}

  std::int64_t add(const std::string &name, std::int64_t by) {
    auto it = values_.find(name);
    std::int64_t now = it == values_.end() ? 0 : it->second;
    if ((by > 0 && now > std::numeric_limits<std::int64_t>::max() - by) ||
        (by < 0 && now < std::numeric_limits<std::int64_t>::min() - by))
      throw std::overflow_error("counter " + name + " would overflow");
    if (it == values_.end()) {
      if (values_.size() >= max_names_)
        throw http_error(507, "counter: max_names counters exist already");
      it = values_.emplace(name, 0).first;
    }
    return it->second = now + by;
  }

  const std::int64_t *find(const std::string &name) const {
    auto it = values_.find(name);
    return it == values_.end() ? nullptr : &it->second;
  }

  bool erase(const std::string &name) {
    return values_.erase(name) > 0;
  }

  std::string list() const {
    std::vector<std::pair<std::string, std::int64_t>> all(values_.begin(),
                                                          values_.end());
    std::sort(all.begin(), all.end());
    std::string out;
    for (const auto &[name, value] : all)
      out += name + " " + std::to_string(value) + "\n";
    return out;
  }

private:
  std::size_t max_names_;
  std::unordered_map<std::string, std::int64_t> values_;
};

struct route {
  route(const hw_host *h, std::size_t max_names) : host(h), store(max_names) {}
  const hw_host *host;
  counters store;
};

// What a request gets when nothing went wrong.
struct answer {
  int status = 200;
  std::string body;
};

std::string_view view(hw_str s) {
  // A borrowed hw_str may have data == NULL when len is 0.
  return s.len > 0 ? std::string_view(s.data, s.len) : std::string_view();
}

// The value of by=N in the query, 1 when there is none.
std::int64_t query_by(std::string_view q) {
  while (!q.empty()) {
    std::string_view pair = q.substr(0, q.find('&'));
    if (pair.substr(0, 3) == "by=") {
      std::string_view num = pair.substr(3);
      std::int64_t v = 0;
      auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
      if (num.empty() || ec != std::errc() || end != num.data() + num.size())
        throw http_error(400, "counter: by must be an integer of 64 bits");
      return v;
    }
    q.remove_prefix(std::min(q.size(), pair.size() + 1));
  }
  return 1;
}

// The request as plain C++: reads it, may throw, touches no response.
answer respond(route &rt, hw_request *req) {
  const hw_host *host = rt.host;
  std::string_view method = view(host->method(req));
  std::string_view rest = view(host->rest(req));
  bool get = method == "GET" || method == "HEAD";
  answer a;

  if (rest.empty() || rest == "/") {
    if (!get)
      throw http_error(405, "counter: GET the list, or use <prefix>/NAME",
                       "GET, HEAD");
    a.body = rt.store.list();
    return a;
  }
  std::string name(rest.substr(1));
  if (name.size() > 200 || name.find('/') != std::string::npos)
    throw http_error(400, "counter: NAME is 1 to 200 bytes without '/'");
  if (get) {
    const std::int64_t *v = rt.store.find(name);
    if (v == nullptr)
      throw http_error(404, "counter: no such counter");
    a.body = std::to_string(*v) + "\n";
  } else if (method == "POST") {
    a.body =
        std::to_string(rt.store.add(name, query_by(view(host->query(req))))) +
        "\n";
  } else if (method == "DELETE") {
    if (!rt.store.erase(name))
      throw http_error(404, "counter: no such counter");
    a.status = 204;
  } else {
    throw http_error(405, "counter: method not allowed",
                     "GET, HEAD, POST, DELETE");
  }
  return a;
}

// Writes an answer with the host's C functions only: nothing here throws.
bool emit(const hw_host *host, hw_response *res, int status, const char *allow,
          const char *body, std::size_t len) noexcept {
  if (host->set_status(res, status) != 0 ||
      host->add_header(res, "Content-Type", 12, "text/plain", 10) != 0)
    return false;
  if (allow != nullptr &&
      host->add_header(res, "Allow", 5, allow, std::strlen(allow)) != 0)
    return false;
  return host->write(res, body, len) == 0;
}

int counter_init(const hw_host *host, const char *config, std::size_t,
                 void **state, char *err, std::size_t err_len) noexcept {
  static const char *const keys[] = {"max_names", nullptr};
  try {
    if (!HW_HOST_HAS(host, conf_error)) {
      std::snprintf(err, err_len, "counter: needs a server with ABI 1.2");
      return -1;
    }
    const hw_conf *conf = host->config(config);
    std::int64_t max_names = 1000;
    if (host->conf_keys(conf, keys, err, err_len) != 0)
      return -1;
    int r = host->conf_int(conf, "max_names", &max_names, err, err_len);
    if (r != 0 && r != HW_ENOENT)
      return -1;
    if (max_names < 1 || max_names > 1000000) {
      host->conf_error(conf, "max_names", "must be from 1 to 1000000", err,
                       err_len);
      return -1;
    }
    auto rt =
        std::make_unique<route>(host, static_cast<std::size_t>(max_names));
    *state = rt.release(); // the module's until fini
    return 0;
  } catch (const std::exception &e) {
    std::snprintf(err, err_len, "counter: %s", e.what());
  } catch (...) {
    std::snprintf(err, err_len, "counter: init failed");
  }
  return -1;
}

hw_handle_result counter_handle(void *state, hw_request *req,
                                hw_response *res) noexcept {
  auto *rt = static_cast<route *>(state);
  const hw_host *host = rt->host;
  try {
    answer a = respond(*rt, req);
    return emit(host, res, a.status, nullptr, a.body.data(), a.body.size())
               ? HW_HANDLED
               : HW_ERROR;
  } catch (const http_error &e) {
    // e.what() needs no allocation, and the status line says the rest.
    const char *what = e.what();
    if (emit(host, res, e.status(), e.allow(), what, std::strlen(what)) &&
        host->write(res, "\n", 1) == 0)
      return HW_HANDLED;
  } catch (const std::exception &e) {
    // A failure nobody above the store expected: log it (log formats in C,
    // so nothing here can throw again) and let the host answer 500.
    host->log(HW_LOG_WARN, "counter: %s", e.what());
  } catch (...) {
    host->log(HW_LOG_WARN, "counter: handle threw a non-exception");
  }
  return HW_ERROR;
}

void counter_fini(void *state) noexcept {
  delete static_cast<route *>(state);
}

} // namespace

HW_MODULE_DEFINE("counter", "1.0", counter_init, counter_handle, counter_fini);
