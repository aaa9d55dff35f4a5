#pragma once

// Shared pieces of the HTTP client and server tests: a fixture with an io_context on two
// threads and an HttpServer on 127.0.0.1:0, a basic router and a slow handler.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/net/http_client.h"
#include "agent/net/http_server.h"
#include "tests/agent/io_runner.h"
#include "tests/agent/raw_server.h"

namespace tandem::agent::net {

namespace asio = boost::asio;
using testing::IoRunner;
using testing::RawServer;
using testing::waitFor;

inline asio::awaitable<HttpResponse> okHandler(HttpRequest request) {
  HttpResponse response;
  response.headers.emplace_back("Content-Type", "text/plain");
  response.body = "hello " + std::string(request.path()) + " " + request.body;
  co_return response;
}

inline Router basicRouter() {
  Router router;
  router.add("GET", "/ping", okHandler);
  router.add("POST", "/echo", okHandler);
  router.add("GET", "/big", [](HttpRequest) -> asio::awaitable<HttpResponse> {
    HttpResponse response;
    response.body = std::string(2000, 'x');
    co_return response;
  });
  return router;
}

inline std::unique_ptr<HttpClient> client(IoRunner& io, HttpClientOptions options = {}) {
  options.useSystemCaStore = false;
  auto made = makeHttpClient(io.ioc(), std::move(options));
  EXPECT_TRUE(made.has_value());
  return std::move(*made);
}

inline HttpRequest get(const std::string& url) {
  HttpRequest request;
  request.target = url;
  return request;
}

struct HttpFixture : ::testing::Test {
  IoRunner io;
  std::unique_ptr<HttpServer> server;

  void startServer(HttpServerOptions options = {}, Router router = basicRouter()) {
    server = std::make_unique<HttpServer>(io.ioc(), std::move(options), std::move(router));
    auto started = server->start();
    ASSERT_TRUE(started.has_value()) << started.error().message;
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server->port()) + path;
  }
  HttpResult send(HttpClient& c, HttpRequest request,
                  std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    auto result = io.run(c.send(std::move(request)), deadline);
    if (!result) {
      return std::unexpected(HttpError{HttpFailure::kNone, "test deadline passed"});
    }
    return std::move(*result);
  }
  void TearDown() override {
    server.reset();
    io.stop();
  }
};

using HttpClientServer = HttpFixture;

inline asio::awaitable<HttpResponse> slowHandler(std::atomic<int>& entered,
                                                 std::chrono::milliseconds d) {
  entered.fetch_add(1);
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
  HttpResponse response;
  response.body = "done";
  co_return response;
}

inline bool refusesConnections(uint16_t port) {
  asio::io_context ioc;
  asio::ip::tcp::socket s(ioc);
  boost::system::error_code ec;
  s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  return ec == asio::error::connection_refused;
}

}  // namespace tandem::agent::net
