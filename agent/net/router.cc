#include "agent/net/http_server.h"

namespace tandem::agent::net {

void Router::add(std::string method, std::string path, Handler handler) {
  routes_.push_back(Route{std::move(method), std::move(path), std::move(handler)});
}

boost::asio::awaitable<HttpResponse> Router::dispatch(HttpRequest request) const {
  const std::string path(request.path());
  std::string allow;
  for (const auto& route : routes_) {
    if (route.path != path) {
      continue;
    }
    if (route.method == request.method) {
      try {
        co_return co_await route.handler(std::move(request));
      } catch (const std::exception& e) {
        co_return jsonError(500, std::string("handler failed: ") + e.what());
      }
    }
    allow += allow.empty() ? route.method : ", " + route.method;
  }
  if (!allow.empty()) {
    auto response = jsonError(405, "method " + request.method + " not allowed on " + path);
    response.headers.emplace_back("Allow", allow);
    co_return response;
  }
  co_return jsonError(404, "no route for " + request.method + " " + path);
}

}  // namespace tandem::agent::net
