#pragma once

// A small HTTP/1.1 server for the admin API and the webhook receiver: async accept, one strand
// and one coroutine per connection, keep-alive, a read timeout, a body limit (413 with a JSON
// error) and a graceful drain (stop accepting, let in-flight requests finish up to a deadline,
// then close) instead of a bare io_context::stop().

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "agent/net/http_message.h"
#include "conflict/result.h"

namespace boost::asio {
class io_context;
}

namespace tandem::agent::net {

// Handlers run on their connection's strand; they may co_await (timers, the HTTP client, ...).
// An exception escaping a handler becomes a 500 with a JSON error, never a crash.
using Handler = std::function<boost::asio::awaitable<HttpResponse>(HttpRequest)>;

// Method + exact path → handler. Unknown path: 404; known path, other method: 405 with Allow.
// addPrefix() routes a whole subtree ("/v1/conflicts/" matches "/v1/conflicts/7/resolve", not
// "/v1/conflicts/" itself); the handler reads the rest from request.path(). Exact routes win
// over prefix routes, and a longer prefix wins over a shorter one.
class Router {
 public:
  void add(std::string method, std::string path, Handler handler);
  void addPrefix(std::string method, std::string prefix, Handler handler);
  boost::asio::awaitable<HttpResponse> dispatch(HttpRequest request) const;

 private:
  struct Route {
    std::string method;
    std::string path;
    Handler handler;
    bool prefix = false;
  };
  std::vector<Route> routes_;
};

struct HttpServerOptions {
  std::string bindAddress = "127.0.0.1";
  uint16_t port = 0;  // 0: the OS picks one, read it back with HttpServer::port()
  uint64_t bodyLimit = 1024 * 1024;
  std::chrono::milliseconds readTimeout{30000};  // a whole request, and an idle keep-alive gap
  std::chrono::milliseconds writeTimeout{30000};
  std::string serverName = "tandem";
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& ioc, HttpServerOptions options, Router router);
  // Closes the listener and cuts remaining connections (drain first for a clean stop).
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting. Error: "http server: bind 127.0.0.1:80: Permission denied".
  Status start();
  uint16_t port() const;

  // Stops accepting now, closes idle keep-alive connections, lets in-flight requests finish and
  // answers them with "Connection: close"; at `deadline` cuts what is left. `onDrained` runs
  // once, on an io_context thread, when no connection remains. Thread-safe.
  void drain(std::chrono::milliseconds deadline, std::function<void()> onDrained);

  uint64_t acceptedConnections() const;
  size_t openConnections() const;

  class Core;

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace tandem::agent::net
