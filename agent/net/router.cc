#include "agent/net/http_server.h"

namespace tandem::agent::net {

namespace {

bool matches(const std::string& route_path, bool prefix, const std::string& path) {
  if (!prefix) {
    return route_path == path;
  }
  return path.size() > route_path.size() && path.starts_with(route_path);
}

}  // namespace

void Router::add(std::string method, std::string path, Handler handler) {
  routes_.push_back(Route{std::move(method), std::move(path), std::move(handler), false});
}

void Router::addPrefix(std::string method, std::string prefix, Handler handler) {
  routes_.push_back(Route{std::move(method), std::move(prefix), std::move(handler), true});
}

boost::asio::awaitable<HttpResponse> Router::dispatch(HttpRequest request) const {
  const std::string path(request.path());
  // The path's routes: the exact ones when there are any, else those of the longest prefix.
  std::vector<const Route*> candidates;
  for (const auto& route : routes_) {
    if (!route.prefix && matches(route.path, false, path)) {
      candidates.push_back(&route);
    }
  }
  if (candidates.empty()) {
    size_t longest = 0;
    for (const auto& route : routes_) {
      if (route.prefix && matches(route.path, true, path)) {
        if (route.path.size() > longest) {
          candidates.clear();
          longest = route.path.size();
        }
        if (route.path.size() == longest) {
          candidates.push_back(&route);
        }
      }
    }
  }
  std::string allow;
  for (const Route* route : candidates) {
    if (route->method == request.method) {
      try {
        co_return co_await route->handler(std::move(request));
      } catch (const std::exception& e) {
        co_return jsonError(500, std::string("handler failed: ") + e.what());
      }
    }
    allow += allow.empty() ? route->method : ", " + route->method;
  }
  if (!allow.empty()) {
    auto response = jsonError(405, "method " + request.method + " not allowed on " + path);
    response.headers.emplace_back("Allow", allow);
    co_return response;
  }
  co_return jsonError(404, "no route for " + request.method + " " + path);
}

}  // namespace tandem::agent::net
