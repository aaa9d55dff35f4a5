// The system channel: circuit breaker, request observer, auth kinds, throttle signals, pacing,
// timeouts, and the paging kinds the fixtures do not use (next URL, starting after, since-token),
// against an agent HTTP server on port 0 playing a small REST API.
#include <atomic>
#include <mutex>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/net/http_server.h"
#include "tests/agent/connector/connector_test_util.h"

namespace tandem::agent::connector::testing {
namespace {

namespace asio = boost::asio;

TEST_F(ConnectorTest, BreakerOpensAfterConsecutiveFailuresFailsFastAndRecovers) {
  SimulatedClock sim;
  ChannelOptions options;
  options.breaker_failures = 3;
  options.breaker_cooldown_ms = 30000;
  Connector& c = connector("erp", options, &sim);
  SystemChannel& channel = lastChannel();
  EXPECT_EQ(channel.breakerState(), "closed");
  settings("erp", R"({"p_500":1})");
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(fetch(c, std::nullopt));
  }
  EXPECT_EQ(channel.breakerState(), "open");
  const int64_t sent = counter("erp", "requests");
  auto fast = fetch(c, std::nullopt);
  ASSERT_FALSE(fast);
  EXPECT_EQ(fast.error().message,
            "connector erp.customer feed: page 1: breaker erp: open after 3 consecutive failures, "
            "probe in 30000 ms");
  rapidjson::Document fields = parseJson(R"({"phone":"1"})");
  const auto pushed = run(c.update("1", fields, ""));
  const auto* retry = as<engine::PushRetryable>(pushed);
  ASSERT_TRUE(retry) << describe(pushed);
  EXPECT_EQ(retry->retry_after_ms, 30000);
  EXPECT_EQ(counter("erp", "requests"), sent) << "an open breaker sent requests";

  // After the cooldown one probe goes out; failing, it opens the breaker again.
  sim.advanceMs(30000);
  EXPECT_FALSE(fetch(c, std::nullopt));
  EXPECT_EQ(counter("erp", "requests"), sent + 1);
  EXPECT_EQ(channel.breakerState(), "open");

  settings("erp", R"({"p_500":0})");
  sim.advanceMs(30000);
  auto probe = fetch(c, std::nullopt);
  EXPECT_TRUE(probe) << probe.error().message;
  EXPECT_EQ(channel.breakerState(), "closed");
}

TEST_F(ConnectorTest, ObserverSeesEveryRequestWithItsOperationAndStatus) {
  std::mutex mu;
  std::vector<std::string> seen;
  ChannelOptions options;
  options.observer = [&](const RequestObservation& o) {
    std::lock_guard lock(mu);
    seen.push_back(std::string(o.system) + " " + std::string(o.op) + " " +
                   std::to_string(o.status));
    EXPECT_GE(o.seconds, 0);
  };
  Connector& c = connector("crm", options);
  auto doc = parseJson(R"({"properties":{"email":"o@x.io"}})");
  const auto created = run(c.create(doc, ""));
  const auto* ok = as<engine::PushSuccess>(created);
  ASSERT_TRUE(ok) << describe(created);
  ASSERT_TRUE(fetch(c, std::nullopt));
  ASSERT_TRUE(run(c.get(ok->native_id)));
  auto patch = parseJson(R"({"properties":{"phone":"2"}})");
  run(c.update(ok->native_id, patch, ""));
  run(c.remove(ok->native_id, ""));
  run(c.remove(ok->native_id, ""));  // archived already: 404
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"crm create 201", "crm feed 200", "crm get 200",
                                            "crm update 200", "crm delete 204", "crm delete 404"}));
}

// A small REST API on the agent's own HTTP server, for what the fixtures do not cover.
class ApiTest : public ConnectorTest {
 protected:
  void SetUp() override {
    ConnectorTest::SetUp();
    system_.name = "api";
    system_.vars = {{"realm", "r 1"}};
    system_.rate_limits = {1000, 100, 4};
    system_.timeouts = {1000, 1000};
    mappers::SystemEntity entity;
    entity.entity = "thing";
    auto& c = entity.connector;
    c.pointers.id = "/id";
    c.pointers.updated = "/updated";
    c.pointers.updated_format = mappers::TimeFormat::EpochMs;
    c.get.request.url = "/things/{id}?realm={realm}&v={version}";
    c.feed.request.url = "/changes?since={since}&after={after}&limit={limit}";
    c.feed.since_format = mappers::TimeFormat::EpochMs;
    c.feed.records_pointer = "/data";
    c.feed.paging.limit = 2;
    c.update.write.request = {"PUT", "/things/{id}", {}, ""};
    c.create.write.request = {"POST", "/things", {}, R"({"realm":"{realm}","item":{}})"};
    c.create.write.record_at = "/item";
    c.create.id_source = mappers::IdSource::LocationHeader;
    c.create.idempotency = mappers::IdempotencyPlace::Header;
    c.create.idempotency_name = "Idempotency-Key";
    system_.entities.push_back(std::move(entity));
  }
  void TearDown() override {
    connectors_.clear();
    channels_.clear();
    http_.reset();
  }

  void serve(net::Router router) {
    http_ =
        std::make_unique<net::HttpServer>(io_.ioc(), net::HttpServerOptions{}, std::move(router));
    ASSERT_TRUE(http_->start());
    system_.base_url = "http://127.0.0.1:" + std::to_string(http_->port()) + "/v1";
  }
  Connector& api(ChannelOptions options = {}) {
    auto channel = SystemChannel::make(io_.ioc(), system_, clock_, std::move(options));
    EXPECT_TRUE(channel) << channel.error().message;
    auto conn = Connector::make(**channel, system_, system_.entities.front());
    EXPECT_TRUE(conn) << conn.error().message;
    channels_.push_back(std::move(*channel));
    connectors_.push_back(std::move(*conn));
    return *connectors_.back();
  }
  mappers::ConnectorSpec& apiSpec() { return system_.entities.front().connector; }

  static net::HttpResponse json(int status, std::string body) {
    net::HttpResponse r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = std::move(body);
    return r;
  }

  mappers::SystemConfig system_;
  std::unique_ptr<net::HttpServer> http_;
};

TEST_F(ApiTest, AuthKindsAndEncodedTemplates) {
  std::mutex mu;
  std::vector<std::string> auth;
  std::vector<std::string> targets;
  net::Router router;
  router.add("GET", "/v1/things/a%20b%2Fc",
             [&](net::HttpRequest r) -> asio::awaitable<net::HttpResponse> {
               std::lock_guard lock(mu);
               auth.emplace_back(std::string(r.header("Authorization")) + "|" +
                                 std::string(r.header("X-Api-Key")));
               targets.push_back(r.target);
               co_return json(200, R"({"id":"a b/c","updated":1700000000123})");
             });
  serve(std::move(router));
  system_.auth = {mappers::AuthKind::Basic, "", "", "ada", mappers::Secret("t", "s3cret")};
  auto got = run(api().get("a b/c"));
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(*got);
  EXPECT_EQ((*got)->id, "a b/c");
  EXPECT_EQ((*got)->updated_ms, 1700000000123);
  system_.auth = {mappers::AuthKind::ApiKeyHeader, "X-Api-Key", "", "", mappers::Secret("t", "k1")};
  ASSERT_TRUE(run(api().get("a b/c")));
  system_.auth = {mappers::AuthKind::Bearer, "", "bearer", "", mappers::Secret("t", "tok")};
  ASSERT_TRUE(run(api().get("a b/c")));
  std::lock_guard lock(mu);
  EXPECT_EQ(auth, (std::vector<std::string>{"Basic YWRhOnMzY3JldA==|", "|k1", "bearer tok|"}));
  // {realm} percent-encoded; {version} has no value, so its parameter is left out.
  EXPECT_EQ(targets[0], "/v1/things/a%20b%2Fc?realm=r%201");
}

TEST_F(ApiTest, CreateTakesTheIdFromLocationAndSendsTheIdempotencyKey) {
  std::string seen_body;
  std::string seen_key;
  net::Router router;
  router.add("POST", "/v1/things", [&](net::HttpRequest r) -> asio::awaitable<net::HttpResponse> {
    seen_body = r.body;
    seen_key = std::string(r.header("Idempotency-Key"));
    auto res = json(201, R"({"id":"t-9","updated":1700000000999})");
    res.headers.emplace_back("Location", "/v1/things/t-9");
    co_return res;
  });
  serve(std::move(router));
  auto fields = parseJson(R"({"name":"{id} stays literal"})");
  const auto created = run(api().create(fields, "rec@api"));
  const auto* ok = as<engine::PushSuccess>(created);
  ASSERT_TRUE(ok) << describe(created);
  EXPECT_EQ(ok->native_id, "t-9");
  EXPECT_EQ(ok->source_ts_ms, 1700000000999);
  EXPECT_EQ(seen_key, "rec@api");
  auto body = parseJson(seen_body);
  EXPECT_STREQ(body["realm"].GetString(), "r 1");
  EXPECT_STREQ(body["item"]["name"].GetString(), "{id} stays literal");
}

TEST_F(ApiTest, ThrottleByStatusAndErrorCodeUsesItsRetryAfter) {
  net::Router router;
  router.add("PUT", "/v1/things/1", [&](net::HttpRequest) -> asio::awaitable<net::HttpResponse> {
    auto res = json(403, R"({"Fault":{"Error":[{"code":"3001","Message":"slow down"}]}})");
    res.headers.emplace_back("Retry-After", "7");
    co_return res;
  });
  router.add("PUT", "/v1/things/2", [&](net::HttpRequest) -> asio::awaitable<net::HttpResponse> {
    co_return json(403, R"({"Fault":{"Error":[{"code":"3100","Message":"not yours"}]}})");
  });
  serve(std::move(router));
  system_.throttle = {{403, "Retry-After", "/Fault/Error/0/code", "3001"}};
  Connector& c = api();
  auto fields = parseJson(R"({"x":1})");
  const auto throttled = run(c.update("1", fields, ""));
  const auto* retry = as<engine::PushRetryable>(throttled);
  ASSERT_TRUE(retry) << describe(throttled);
  EXPECT_EQ(retry->retry_after_ms, 7000);
  EXPECT_EQ(retry->error,
            "connector api.thing update 1: throttled: HTTP 403: slow down (retry in 7000 ms)");
  const auto refused = run(c.update("2", fields, ""));
  const auto* p = as<engine::PushPermanent>(refused);
  ASSERT_TRUE(p) << describe(refused);
  EXPECT_EQ(p->error, "connector api.thing update 2: HTTP 403: not yours");
}

TEST_F(ApiTest, SlowAnswerTimesOutAsRetryable) {
  net::Router router;
  router.add("PUT", "/v1/things/1", [&](net::HttpRequest) -> asio::awaitable<net::HttpResponse> {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(std::chrono::milliseconds(3000));
    co_await timer.async_wait(asio::use_awaitable);
    co_return json(200, "{}");
  });
  serve(std::move(router));
  system_.timeouts.request_ms = 200;
  auto fields = parseJson(R"({"x":1})");
  const auto outcome = run(api().update("1", fields, ""));
  const auto* retry = as<engine::PushRetryable>(outcome);
  ASSERT_TRUE(retry) << describe(outcome);
  EXPECT_TRUE(retry->error.starts_with("connector api.thing update 1: http PUT ")) << retry->error;
}

TEST_F(ApiTest, MaxInFlightIsNeverExceeded) {
  std::atomic<int> now{0};
  std::atomic<int> peak{0};
  net::Router router;
  router.add("GET", "/v1/things/x", [&](net::HttpRequest) -> asio::awaitable<net::HttpResponse> {
    const int n = ++now;
    int p = peak.load();
    while (n > p && !peak.compare_exchange_weak(p, n)) {
    }
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(std::chrono::milliseconds(30));
    co_await timer.async_wait(asio::use_awaitable);
    --now;
    co_return json(200, R"({"id":"x"})");
  });
  serve(std::move(router));
  system_.rate_limits.max_in_flight = 2;
  Connector& c = api();
  std::vector<std::future<Result<std::optional<NativeRecord>>>> futures;
  for (int i = 0; i < 8; ++i) {
    futures.push_back(io_.spawn(c.get("x")));
  }
  for (auto& f : futures) {
    auto r = f.get();
    ASSERT_TRUE(r) << r.error().message;
  }
  EXPECT_EQ(peak.load(), 2);
}

TEST_F(ApiTest, StartingAfterPagingWithHasMoreFlag) {
  std::mutex mu;
  std::vector<std::string> queries;
  net::Router router;
  router.add("GET", "/v1/changes", [&](net::HttpRequest r) -> asio::awaitable<net::HttpResponse> {
    const std::string q(r.target.substr(r.target.find('?') + 1));
    {
      std::lock_guard lock(mu);
      queries.push_back(q);
    }
    if (q.find("after=") == std::string::npos) {
      co_return json(
          200, R"({"data":[{"id":"a","updated":1000},{"id":"b","updated":2000}],"has_more":true})");
    }
    co_return json(200, R"({"data":[{"id":"c","updated":3000}],"has_more":false})");
  });
  serve(std::move(router));
  apiSpec().feed.paging.kind = mappers::PagingKind::StartingAfter;
  apiSpec().feed.paging.has_more_pointer = "/has_more";
  Connector& c = api();
  const Drained all = drain(c, std::nullopt);
  EXPECT_EQ(all.ids, (std::vector<std::string>{"a", "b", "c"}));
  std::lock_guard lock(mu);
  EXPECT_EQ(queries, (std::vector<std::string>{"since=0&limit=2", "since=0&after=b&limit=2"}));
}

TEST_F(ApiTest, NextUrlPagingAndSinceToken) {
  std::mutex mu;
  std::vector<std::string> targets;
  net::Router router;
  auto page = [&](net::HttpRequest r) -> asio::awaitable<net::HttpResponse> {
    {
      std::lock_guard lock(mu);
      targets.push_back(r.target);
    }
    if (r.path() == "/v1/changes") {
      co_return json(200, R"({"data":[{"id":"a"}],"next":"/v1/more?p=2"})");
    }
    co_return json(200, R"({"data":[{"id":"b"}],"next":null,"sync":"tok-2"})");
  };
  router.add("GET", "/v1/changes", page);
  router.add("GET", "/v1/more", page);
  serve(std::move(router));
  apiSpec().feed.request.url = "/changes?since={since}";
  apiSpec().feed.since_source = mappers::SinceSource::Token;
  apiSpec().feed.token_pointer = "/sync";
  apiSpec().feed.paging.kind = mappers::PagingKind::NextUrl;
  apiSpec().feed.paging.next_url_pointer = "/next";
  Connector& c = api();
  const Drained first = drain(c, std::nullopt);
  EXPECT_EQ(first.ids, (std::vector<std::string>{"a", "b"}));
  const Drained second = drain(c, first.cursor);
  std::lock_guard lock(mu);
  EXPECT_EQ(targets, (std::vector<std::string>{"/v1/changes", "/v1/more?p=2",
                                               "/v1/changes?since=tok-2", "/v1/more?p=2"}));
  EXPECT_EQ(second.ids, (std::vector<std::string>{"a", "b"})) << "token feeds do not de-duplicate";
}

TEST_F(ApiTest, OversizedOrMalformedAnswersAreErrors) {
  net::Router router;
  router.add("GET", "/v1/things/big", [&](net::HttpRequest) -> asio::awaitable<net::HttpResponse> {
    co_return json(200, R"({"id":"big","pad":")" + std::string(9u << 20, 'x') + "\"}");
  });
  router.add("GET", "/v1/things/bad", [&](net::HttpRequest) -> asio::awaitable<net::HttpResponse> {
    co_return json(200, R"({"id":"bad",)");
  });
  router.add("PUT", "/v1/things/big", [&](net::HttpRequest) -> asio::awaitable<net::HttpResponse> {
    co_return json(200, std::string(9u << 20, ' '));
  });
  serve(std::move(router));
  Connector& c = api();
  auto big = run(c.get("big"));
  ASSERT_FALSE(big);
  EXPECT_TRUE(big.error().message.starts_with("connector api.thing get big: http GET "))
      << big.error().message;
  EXPECT_TRUE(big.error().message.ends_with("response body exceeds 8388608 bytes"))
      << big.error().message;
  auto bad = run(c.get("bad"));
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().message.starts_with("connector api.thing get bad: answer is not JSON: "))
      << bad.error().message;
  auto fields = parseJson(R"({"x":1})");
  const auto outcome = run(c.update("big", fields, ""));
  const auto* p = as<engine::PushPermanent>(outcome);
  ASSERT_TRUE(p) << describe(outcome);
  EXPECT_TRUE(p->error.ends_with("response body exceeds 8388608 bytes")) << p->error;
}

TEST_F(ApiTest, RequestsPerSecondPacesABurst) {
  net::Router router;
  router.add("GET", "/v1/things/x", [&](net::HttpRequest) -> asio::awaitable<net::HttpResponse> {
    co_return json(200, R"({"id":"x"})");
  });
  serve(std::move(router));
  system_.rate_limits = {20, 1, 4};  // one token every 50 ms, no burst
  Connector& c = api();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(run(c.get("x")));
  }
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(190));
}

TEST_F(ApiTest, BadTrustFileIsRefusedWhenTheChannelIsMade) {
  serve(net::Router{});
  ChannelOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  auto channel = SystemChannel::make(io_.ioc(), system_, clock_, std::move(options));
  ASSERT_FALSE(channel);
  EXPECT_TRUE(channel.error().message.starts_with(
      "connector api: http client: CA file /nonexistent/ca.pem: "))
      << channel.error().message;
}

TEST_F(ApiTest, UnknownPlaceholderIsRefusedWhenTheConnectorIsMade) {
  serve(net::Router{});
  apiSpec().get.request.url = "/things/{idd}";
  auto channel = SystemChannel::make(io_.ioc(), system_, clock_, {});
  ASSERT_TRUE(channel);
  auto conn = Connector::make(**channel, system_, system_.entities.front());
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().message,
            "connector api.thing get: url \"/things/{idd}\": unknown placeholder {idd}");
}

}  // namespace
}  // namespace tandem::agent::connector::testing
