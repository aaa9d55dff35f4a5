#pragma once

// The admin API on a real HttpServer (127.0.0.1, port 0) in front of a FakeAgent over a seeded
// LMDB store, and a real HTTP client to call it.

#include <gtest/gtest.h>

#include "agent/net/http_client.h"
#include "agent/net/http_server.h"
#include "agent/ops/admin_api.h"
#include "tests/agent/io_runner.h"
#include "tests/agent/ops/fake_agent.h"

namespace tandem::agent::ops::testing {

struct AdminFixture : ::testing::Test {
  tandem::testing::TempDir dir{"tandem-ops"};
  Seeded seeded;
  std::unique_ptr<FakeAgent> agent;
  agent::testing::IoRunner io;
  std::unique_ptr<AdminApi> api;
  std::unique_ptr<net::HttpServer> server;
  std::unique_ptr<net::HttpClient> client;

  void SetUp() override {
    auto store = openStore(dir.path());
    ASSERT_TRUE(store);
    seeded = seedStore(*store);
    agent = std::make_unique<FakeAgent>(std::move(store), testConfig(dir.path()));
  }

  void start(std::string token = "") {
    api = std::make_unique<AdminApi>(*agent, std::move(token), nullLogger());
    net::Router router;
    api->addRoutes(router);
    agent->addRoutes(router);
    server =
        std::make_unique<net::HttpServer>(io.ioc(), net::HttpServerOptions{}, std::move(router));
    auto started = server->start();
    ASSERT_TRUE(started) << started.error().message;
    net::HttpClientOptions options;
    options.useSystemCaStore = false;
    auto made = net::makeHttpClient(io.ioc(), options);
    ASSERT_TRUE(made) << made.error().message;
    client = std::move(*made);
  }

  net::HttpResponse call(std::string method, const std::string& target, std::string body = "",
                         const std::string& token = "") {
    net::HttpRequest request;
    request.method = std::move(method);
    request.target = "http://127.0.0.1:" + std::to_string(server->port()) + target;
    request.body = std::move(body);
    if (!token.empty()) {
      request.headers.emplace_back("Authorization", "Bearer " + token);
    }
    auto r = io.run(client->send(std::move(request)));
    EXPECT_TRUE(r.has_value()) << "no answer within the deadline";
    if (!r || !*r) {
      ADD_FAILURE() << (r ? r->error().message : "deadline");
      return {};
    }
    return std::move(**r);
  }
  net::HttpResponse get(const std::string& target, const std::string& token = "") {
    return call("GET", target, "", token);
  }
  net::HttpResponse post(const std::string& target, std::string body,
                         const std::string& token = "") {
    return call("POST", target, std::move(body), token);
  }

  std::optional<conflict::ConflictEntry> storedConflict(uint64_t id) {
    auto snap = agent->store().read();
    EXPECT_TRUE(snap);
    auto e = snap->conflict(id);
    EXPECT_TRUE(e);
    return e ? *e : std::nullopt;
  }

  void TearDown() override {
    client.reset();
    server.reset();
    io.stop();
  }
};

}  // namespace tandem::agent::ops::testing
