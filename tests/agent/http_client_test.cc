// The HTTP client over 127.0.0.1: keep-alive reuse, stale keep-alive reconnects, pool limits,
// timeouts, truncated and malformed responses, the response body limit.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/agent/http_fixture.h"

namespace tandem::agent::net {
namespace {

using namespace std::chrono_literals;

TEST_F(HttpClientServer, KeepAliveReusesOneConnection) {
  startServer();
  auto c = client(io);
  for (int i = 0; i < 5; ++i) {
    auto r = send(*c, get(url("/ping")));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello /ping ");
    EXPECT_EQ(r->header("content-type"), "text/plain");
  }
  EXPECT_EQ(server->acceptedConnections(), 1u);
  EXPECT_EQ(c->stats().connectionsOpened, 1u);
  EXPECT_EQ(c->stats().reusedConnections, 4u);
  EXPECT_EQ(c->idleConnections("http://127.0.0.1:" + std::to_string(server->port())), 1u);
}

TEST_F(HttpClientServer, PostBodyArrives) {
  startServer();
  auto c = client(io);
  HttpRequest request = get(url("/echo?x=1"));
  request.method = "POST";
  request.body = "payload";
  auto r = send(*c, std::move(request));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->body, "hello /echo payload");
}

TEST_F(HttpClientServer, ServerClosedKeepAliveIsReestablishedTransparently) {
  HttpServerOptions options;
  options.readTimeout = 100ms;  // the server closes idle keep-alive connections quickly
  startServer(options);
  auto c = client(io);
  ASSERT_TRUE(send(*c, get(url("/ping"))).has_value());
  ASSERT_TRUE(waitFor([&] { return server->openConnections() == 0; }));
  auto r = send(*c, get(url("/ping")));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server->acceptedConnections(), 2u);
  EXPECT_EQ(c->stats().staleRetries, 1u);
}

TEST_F(HttpClientServer, OversizedResponseBodyIsAnError) {
  startServer();
  HttpClientOptions options;
  options.bodyLimit = 1000;
  auto c = client(io, options);
  auto r = send(*c, get(url("/big")));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, HttpFailure::kBodyLimit);
  EXPECT_EQ(r.error().message, "http GET " + url("/big") + ": response body exceeds 1000 bytes");
}

TEST_F(HttpClientServer, ConnectionRefusedNamesMethodUrlAndStep) {
  // Find a free port, then close it so nothing listens there.
  uint16_t port = 0;
  {
    asio::io_context ioc;
    asio::ip::tcp::acceptor probe(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    port = probe.local_endpoint().port();
  }
  auto c = client(io);
  const std::string target = "http://127.0.0.1:" + std::to_string(port) + "/x";
  auto r = send(*c, get(target));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, HttpFailure::kConnect);
  EXPECT_EQ(r.error().message, "http GET " + target + ": connect: Connection refused");
}

TEST_F(HttpClientServer, InvalidUrlIsRejectedBeforeAnyIo) {
  auto c = client(io);
  auto r = send(*c, get("ftp://example.com/x"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, HttpFailure::kInvalidRequest);
  EXPECT_EQ(r.error().message,
            "http GET ftp://example.com/x: url \"ftp://example.com/x\": unsupported scheme "
            "\"ftp\" (expected http or https)");
}

TEST_F(HttpClientServer, HeaderInjectionIsRejected) {
  startServer();
  auto c = client(io);
  HttpRequest request = get(url("/ping"));
  request.headers.emplace_back("X-Token", "abc\r\nX-Admin: 1");
  auto r = send(*c, std::move(request));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, HttpFailure::kInvalidRequest);
  EXPECT_EQ(r.error().message, "http GET " + url("/ping") + ": invalid header \"X-Token\"");
  EXPECT_EQ(server->acceptedConnections(), 0u);
}

TEST(HttpClientRaw, ReadTimeoutWhenServerNeverAnswers) {
  IoRunner io;
  RawServer raw([](asio::ip::tcp::socket& s) { RawServer::drainUntilClosed(s); });
  HttpClientOptions options;
  options.ioTimeout = 150ms;
  options.useSystemCaStore = false;
  auto c = std::move(*makeHttpClient(io.ioc(), options));
  const auto start = std::chrono::steady_clock::now();
  auto r = io.run(c->send(get(raw.url("/slow"))));
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->has_value());
  EXPECT_EQ(r->error().kind, HttpFailure::kTimeout);
  EXPECT_EQ(r->error().message, "http GET " + raw.url("/slow") + ": read: timed out after 150 ms");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(HttpClientRaw, ConnectTimeoutAgainstAFullBacklog) {
  IoRunner io;
  // A listener that never accepts, its backlog filled: further SYNs are dropped by the kernel.
  asio::io_context ioc;
  asio::ip::tcp::acceptor blackhole(ioc);
  blackhole.open(asio::ip::tcp::v4());
  blackhole.bind({asio::ip::make_address("127.0.0.1"), 0});
  blackhole.listen(0);
  const auto port = blackhole.local_endpoint().port();
  // Non-blocking connects fill the accept queue without waiting (Asio's sync connect would).
  struct Fd {
    int fd = -1;
    ~Fd() { ::close(fd); }
  };
  std::vector<std::unique_ptr<Fd>> fillers;
  for (int i = 0; i < 4; ++i) {
    auto f = std::make_unique<Fd>();
    f->fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)::connect(f->fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers.push_back(std::move(f));
  }
  HttpClientOptions options;
  options.connectTimeout = 200ms;
  options.ioTimeout = 300ms;
  options.useSystemCaStore = false;
  auto c = std::move(*makeHttpClient(io.ioc(), options));
  const std::string target = "http://127.0.0.1:" + std::to_string(port) + "/x";
  auto r = io.run(c->send(get(target)));
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->has_value());
  EXPECT_EQ(r->error().message, "http GET " + target + ": connect: timed out after 200 ms");
  EXPECT_EQ(r->error().kind, HttpFailure::kConnect);
}

TEST(HttpClientRaw, TruncatedBodyIsAConnectionError) {
  IoRunner io;
  RawServer raw([](asio::ip::tcp::socket& s) {
    RawServer::send(s, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part");
  });
  auto c = client(io);
  auto r = io.run(c->send(get(raw.url("/t"))));
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->has_value());
  EXPECT_EQ(r->error().kind, HttpFailure::kConnection);
  EXPECT_EQ(r->error().message,
            "http GET " + raw.url("/t") + ": read: connection closed mid-response (truncated)");
}

TEST(HttpClientRaw, MalformedResponseIsAProtocolError) {
  IoRunner io;
  RawServer raw([](asio::ip::tcp::socket& s) { RawServer::send(s, "HTTP/1.1 OK\r\n\r\n"); });
  auto c = client(io);
  auto r = io.run(c->send(get(raw.url("/m"))));
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->has_value());
  EXPECT_EQ(r->error().kind, HttpFailure::kProtocol);
  EXPECT_EQ(r->error().message,
            "http GET " + raw.url("/m") + ": read: malformed response: bad status");
}

TEST(HttpClientRaw, EofBeforeAnswerOnAFreshConnectionIsNotRetried) {
  IoRunner io;
  RawServer raw([](asio::ip::tcp::socket&) {}, 2);  // reads the head, closes without a reply
  auto c = client(io);
  auto r = io.run(c->send(get(raw.url("/e"))));
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->has_value());
  EXPECT_EQ(r->error().message,
            "http GET " + raw.url("/e") + ": read: connection closed by peer before a response");
  EXPECT_EQ(raw.accepted(), 1);  // a fresh connection may have processed it: no blind resend
}

TEST_F(HttpClientServer, PoolLimitQueuesRequestsOnOneConnection) {
  std::atomic<int> entered{0};
  Router router;
  router.add("GET", "/slow", [&](HttpRequest) { return slowHandler(entered, 50ms); });
  startServer({}, std::move(router));
  HttpClientOptions options;
  options.maxConnectionsPerOrigin = 1;
  auto c = client(io, options);
  std::vector<std::future<HttpResult>> inflight;
  for (int i = 0; i < 4; ++i) {
    inflight.push_back(io.spawn(c->send(get(url("/slow")))));
  }
  for (auto& f : inflight) {
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    auto r = f.get();
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->body, "done");
  }
  EXPECT_EQ(server->acceptedConnections(), 1u);
  EXPECT_EQ(entered.load(), 4);
}

TEST_F(HttpClientServer, WaitingForAPoolSlotTimesOut) {
  std::atomic<int> entered{0};
  Router router;
  router.add("GET", "/stuck", [&](HttpRequest) { return slowHandler(entered, 500ms); });
  startServer({}, std::move(router));
  HttpClientOptions options;
  options.maxConnectionsPerOrigin = 1;
  options.connectTimeout = 100ms;
  auto c = client(io, options);
  auto first = io.spawn(c->send(get(url("/stuck"))));
  ASSERT_TRUE(waitFor([&] { return entered.load() == 1; }));
  auto second = send(*c, get(url("/stuck")));
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().message,
            "http GET " + url("/stuck") +
                ": connect: timed out waiting for a free connection (max 1 per origin)");
  EXPECT_EQ(first.wait_for(5s), std::future_status::ready);
}

}  // namespace
}  // namespace tandem::agent::net
