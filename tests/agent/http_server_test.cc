// The HTTP server over 127.0.0.1: routing, 400/413, read timeout, bind errors, graceful drain.

#include <gtest/gtest.h>

#include "tests/agent/http_fixture.h"

namespace tandem::agent::net {
namespace {

using namespace std::chrono_literals;

TEST_F(HttpClientServer, RoutingAnswers404And405WithJson) {
  startServer();
  auto c = client(io);
  auto missing = send(*c, get(url("/nope")));
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, R"({"error":"no route for GET /nope"})");
  HttpRequest del = get(url("/ping"));
  del.method = "DELETE";
  auto wrong = send(*c, std::move(del));
  ASSERT_TRUE(wrong.has_value());
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->header("Allow"), "GET");
  EXPECT_EQ(wrong->body, R"({"error":"method DELETE not allowed on /ping"})");
}

TEST_F(HttpClientServer, OversizedRequestBodyGets413) {
  HttpServerOptions options;
  options.bodyLimit = 1000;
  startServer(options);
  auto c = client(io);
  HttpRequest request = get(url("/echo"));
  request.method = "POST";
  request.body = std::string(5000, 'b');
  auto r = send(*c, std::move(request));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->body, R"({"error":"request body exceeds 1000 bytes"})");
}

TEST_F(HttpClientServer, MalformedRequestGets400) {
  startServer();
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), server->port()});
  RawServer::send(socket, "NOT HTTP AT ALL\r\n\r\n");
  std::string reply;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(reply), ec);  // until the server closes
  EXPECT_EQ(reply.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find(R"({"error":"malformed request: bad version"})"), std::string::npos)
      << reply;
}

TEST_F(HttpClientServer, DrainLetsInFlightRequestFinishAndRefusesNewConnections) {
  std::atomic<int> entered{0};
  Router router;
  router.add("GET", "/slow", [&](HttpRequest) { return slowHandler(entered, 300ms); });
  startServer({}, std::move(router));
  auto c = client(io);
  auto inflight = io.spawn(c->send(get(url("/slow"))));
  ASSERT_TRUE(waitFor([&] { return entered.load() == 1; }));

  std::promise<void> drained;
  server->drain(5s, [&] { drained.set_value(); });
  ASSERT_TRUE(waitFor([&] { return refusesConnections(server->port()); }));

  ASSERT_EQ(inflight.wait_for(5s), std::future_status::ready);
  auto r = inflight.get();
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->body, "done");
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_EQ(drained.get_future().wait_for(5s), std::future_status::ready);
}

TEST_F(HttpClientServer, DrainCutsRequestsStillRunningAtTheDeadline) {
  std::atomic<int> entered{0};
  Router router;
  router.add("GET", "/stuck", [&](HttpRequest) { return slowHandler(entered, 60s); });
  startServer({}, std::move(router));
  auto c = client(io);
  auto inflight = io.spawn(c->send(get(url("/stuck"))));
  ASSERT_TRUE(waitFor([&] { return entered.load() == 1; }));
  std::promise<void> drained;
  const auto start = std::chrono::steady_clock::now();
  server->drain(100ms, [&] { drained.set_value(); });
  ASSERT_EQ(drained.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
  ASSERT_EQ(inflight.wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(inflight.get().has_value());
}

TEST_F(HttpClientServer, DrainClosesIdleKeepAliveConnectionsAtOnce) {
  startServer();
  auto c = client(io);
  ASSERT_TRUE(send(*c, get(url("/ping"))).has_value());
  EXPECT_EQ(server->openConnections(), 1u);
  std::promise<void> drained;
  server->drain(30s, [&] { drained.set_value(); });
  EXPECT_EQ(drained.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(server->openConnections(), 0u);
}

TEST_F(HttpClientServer, ServerReadTimeoutClosesASlowClient) {
  HttpServerOptions options;
  options.readTimeout = 100ms;
  startServer(options);
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), server->port()});
  RawServer::send(socket, "GET /ping HTTP/1.1\r\nHost: x\r\n");  // never finishes the head
  const auto start = std::chrono::steady_clock::now();
  std::string reply;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(reply), ec);  // returns when the server closes
  EXPECT_EQ(reply, "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_TRUE(waitFor([&] { return server->openConnections() == 0; }));
}

TEST_F(HttpClientServer, BindErrorNamesAddress) {
  startServer();
  HttpServerOptions options;
  options.port = server->port();
  options.bindAddress = "127.0.0.1";
  HttpServer second(io.ioc(), options, basicRouter());
  auto started = second.start();
  ASSERT_FALSE(started.has_value());
  EXPECT_EQ(
      started.error().message,
      "http server: bind 127.0.0.1:" + std::to_string(server->port()) + ": Address already in use");
}

}  // namespace
}  // namespace tandem::agent::net
