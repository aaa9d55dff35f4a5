#pragma once

// The admin HTTP API, served by the agent's net::HttpServer next to the webhook receivers:
//   GET  /livez /readyz /metrics
//   GET  /v1/status
//   GET  /v1/conflicts?state=open|all&record=&field=&after=&limit=
//   GET  /v1/conflicts/{id}
//   POST /v1/conflicts/{id}/resolve      {"take":"crm"} | {"value":<json>}, optional "note"
//   GET  /v1/deadletters?system=
//   POST /v1/deadletters/retry           {"system":"erp","record":"r-1"} | {} (all)
// With a token, every route but /livez and /readyz wants "Authorization: Bearer <token>".
// Errors are JSON ({"error":"..."}): 400 bad body or query with the reason, 401, 404 unknown
// conflict, 409 conflict already closed.

#include <atomic>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "agent/net/http_server.h"
#include "agent/runtime/agent.h"
#include "conflict/result.h"
#include "mappers/config.h"

namespace tandem::agent::ops {

// 127.0.0.0/8, ::1 and "localhost".
bool isLoopback(std::string_view host);

// Refuses an admin API reachable beyond loopback without a token (the config loader checks this
// too; the server must not rely on it). Error: "admin: bound to 0.0.0.0 without a token ...".
Status checkAdminExposure(const mappers::AdminSettings& admin);

class AdminApi {
 public:
  // `token` empty: no authentication (only allowed on loopback; see checkAdminExposure).
  AdminApi(runtime::Agent& agent, std::string token, Logger& log);

  // Adds the routes; this object must outlive the server that dispatches them.
  void addRoutes(net::Router& router);

  // SIGTERM: /readyz answers 503 from now on and /v1/status says "draining".
  void setDraining() { draining_.store(true); }
  bool ready() const;

 private:
  using Response = boost::asio::awaitable<net::HttpResponse>;
  // Wraps a handler with the bearer token check.
  net::Handler guarded(net::Handler handler) const;

  Response livez(net::HttpRequest request);
  Response readyz(net::HttpRequest request);
  Response metrics(net::HttpRequest request);
  Response status(net::HttpRequest request);
  Response listConflicts(net::HttpRequest request);
  Response conflictSubtree(net::HttpRequest request);  // /v1/conflicts/{id}[/resolve]
  Response showConflict(uint64_t id);
  net::HttpResponse conflictResponse(uint64_t id);
  Response resolveConflict(uint64_t id, std::string body);
  Response listDeadLetters(net::HttpRequest request);
  Response retryDeadLetters(net::HttpRequest request);

  runtime::Agent& agent_;
  std::string token_;
  Logger& log_;
  std::atomic<bool> draining_{false};
};

// Query string of a request target, percent-decoded: "/x?a=1&b=%2F" → {{"a","1"},{"b","/"}}.
std::vector<std::pair<std::string, std::string>> parseQuery(std::string_view target);

// A JSON response with this status and body.
net::HttpResponse jsonResponse(int status, std::string body);

}  // namespace tandem::agent::ops
