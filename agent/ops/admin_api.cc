#include "agent/ops/admin_api.h"

#include <boost/asio/ip/address.hpp>

#include "agent/ops/json_out.h"
#include "agent/ops/metrics.h"

namespace tandem::agent::ops {

namespace {

int hexDigit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::string percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hexDigit(s[i + 1]) >= 0 &&
               hexDigit(s[i + 2]) >= 0) {
      out += static_cast<char>(hexDigit(s[i + 1]) * 16 + hexDigit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Compares without an early exit, so the time taken does not tell how much of a guess was right.
bool sameSecret(std::string_view a, std::string_view b) {
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i]) ^
            static_cast<unsigned char>(b.empty() ? 0 : b[i % b.size()]);
  }
  return diff == 0;
}

}  // namespace

bool isLoopback(std::string_view host) {
  if (host == "localhost") {
    return true;
  }
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

Status checkAdminExposure(const mappers::AdminSettings& admin) {
  if (admin.token.reveal().empty() && !isLoopback(admin.bind)) {
    return fail("admin: bound to " + admin.bind +
                " without a token: anyone who reaches that address could resolve conflicts; set "
                "agent.admin.token or bind to 127.0.0.1");
  }
  return {};
}

std::vector<std::pair<std::string, std::string>> parseQuery(std::string_view target) {
  std::vector<std::pair<std::string, std::string>> out;
  const size_t q = target.find('?');
  if (q == std::string_view::npos) {
    return out;
  }
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (part.empty()) {
      continue;
    }
    const size_t eq = part.find('=');
    out.emplace_back(percentDecode(part.substr(0, eq)),
                     eq == std::string_view::npos ? "" : percentDecode(part.substr(eq + 1)));
  }
  return out;
}

net::HttpResponse jsonResponse(int status, std::string body) {
  net::HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

AdminApi::AdminApi(runtime::Agent& agent, std::string token, Logger& log)
    : agent_(agent), token_(std::move(token)), log_(log) {}

bool AdminApi::ready() const {
  return !draining_.load() && agent_.ready();
}

net::Handler AdminApi::guarded(net::Handler handler) const {
  if (token_.empty()) {
    return handler;
  }
  return [this, handler = std::move(handler)](net::HttpRequest request) -> Response {
    const std::string_view auth = request.header("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.empty()) {
      auto r = net::jsonError(401, "missing bearer token (Authorization: Bearer <token>)");
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      co_return r;
    }
    if (!auth.starts_with(kBearer) || !sameSecret(auth.substr(kBearer.size()), token_)) {
      log_.warn("admin request refused", {{"path", request.path()}, {"reason", "wrong token"}});
      auto r = net::jsonError(401, "wrong bearer token");
      r.headers.emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
      co_return r;
    }
    co_return co_await handler(std::move(request));
  };
}

void AdminApi::addRoutes(net::Router& router) {
  auto bind = [this](Response (AdminApi::*fn)(net::HttpRequest)) -> net::Handler {
    return [this, fn](net::HttpRequest request) { return (this->*fn)(std::move(request)); };
  };
  router.add("GET", "/livez", bind(&AdminApi::livez));
  router.add("GET", "/readyz", bind(&AdminApi::readyz));
  router.add("GET", "/metrics", guarded(bind(&AdminApi::metrics)));
  router.add("GET", "/v1/status", guarded(bind(&AdminApi::status)));
  router.add("GET", "/v1/conflicts", guarded(bind(&AdminApi::listConflicts)));
  router.addPrefix("GET", "/v1/conflicts/", guarded(bind(&AdminApi::conflictSubtree)));
  router.addPrefix("POST", "/v1/conflicts/", guarded(bind(&AdminApi::conflictSubtree)));
  router.add("GET", "/v1/deadletters", guarded(bind(&AdminApi::listDeadLetters)));
  router.add("POST", "/v1/deadletters/retry", guarded(bind(&AdminApi::retryDeadLetters)));
}

AdminApi::Response AdminApi::livez(net::HttpRequest) {
  co_return jsonResponse(200, R"({"live":true})");
}

AdminApi::Response AdminApi::readyz(net::HttpRequest) {
  if (ready()) {
    co_return jsonResponse(200, R"({"ready":true})");
  }
  co_return jsonResponse(503, draining_.load() ? R"({"ready":false,"state":"draining"})"
                                               : R"({"ready":false,"state":"starting"})");
}

AdminApi::Response AdminApi::metrics(net::HttpRequest) {
  runtime::AgentStatus s = agent_.status();
  s.ready = ready();
  net::HttpResponse r;
  r.headers.emplace_back("Content-Type", std::string(kMetricsContentType));
  r.body = renderMetrics(s);
  co_return r;
}

AdminApi::Response AdminApi::status(net::HttpRequest) {
  runtime::AgentStatus s = agent_.status();
  s.ready = ready();
  if (draining_.load() && (s.state == "running" || s.state == "starting")) {
    s.state = "draining";
  }
  co_return jsonResponse(200, statusToJson(s));
}

}  // namespace tandem::agent::ops
