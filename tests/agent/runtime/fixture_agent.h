#pragma once

// The running agent with the declarative REST connector against the fixture servers over
// loopback: fixtures/config/demo.json with the fixtures' ports and secrets from a test env, a real
// LMDB state in a temp dir, and helpers that read the systems' records through the control API.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include "agent/net/http_server.h"
#include "agent/runtime/agent.h"
#include "fixtures/client/fixture_client.h"
#include "fixtures/fixture_server.h"
#include "mappers/config_loader.h"
#include "tests/agent/io_runner.h"
#include "tests/mappers/test_env.h"
#include "tests/support/temp_dir.h"

namespace tandem::agent::runtime::testing {

using agent::testing::IoRunner;
using agent::testing::waitFor;

inline const std::string kDemo = std::string(TANDEM_SOURCE_DIR) + "/fixtures/config/demo.json";

// Where each system keeps the e-mail, and a few canonical fields, in its native record.
inline std::string emailOf(const std::string& system, const rapidjson::Value& r) {
  const char* ptr = system == "crm"   ? "/properties/email"
                    : system == "erp" ? "/email"
                                      : "/PrimaryEmailAddr/Address";
  const rapidjson::Value* v = rapidjson::Pointer(ptr).Get(r);
  return v != nullptr && v->IsString() ? v->GetString() : "";
}

inline std::string phoneOf(const std::string& system, const rapidjson::Value& r) {
  const char* ptr = system == "crm"   ? "/properties/phone"
                    : system == "erp" ? "/phone"
                                      : "/PrimaryPhone/FreeFormNumber";
  const rapidjson::Value* v = rapidjson::Pointer(ptr).Get(r);
  return v != nullptr && v->IsString() ? v->GetString() : "";
}

inline std::string cityOf(const std::string& system, const rapidjson::Value& r) {
  const char* ptr = system == "crm"   ? "/properties/city"
                    : system == "erp" ? "/city"
                                      : "/BillAddr/City";
  const rapidjson::Value* v = rapidjson::Pointer(ptr).Get(r);
  return v != nullptr && v->IsString() ? v->GetString() : "";
}

inline const char* kAnn =
    R"({"properties":{"email":"ann@example.com","firstname":"Ann","lastname":"Lee",)"
    R"("phone":"+1 555 0100","city":"Boston"}})";

class FixtureAgent {
 public:
  explicit FixtureAgent(const std::string& fixture_settings = "")
      : log_(log_out_, mappers::LogFormat::Text, LogLevel::Debug) {
    fixtures::FixtureOptions o;
    o.configJson = fixture_settings;
    auto server = fixtures::FixtureServer::start(o);
    EXPECT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
    client_ = std::make_unique<fixtures::FixtureClient>(server_->ports());
  }
  ~FixtureAgent() {
    stop();
    io_.stop();
    writer_io_.stop();
    http_.reset();
    agent_.reset();
    server_->stop();
  }

  mappers::Config config(int64_t poll_ms = 100) {
    auto env = mappers::testing::demoEnv();
    auto cfg = mappers::loadConfig(kDemo, env);
    EXPECT_TRUE(cfg) << (cfg ? "" : cfg.error().formatAll());
    const auto& p = server_->ports();
    for (auto& s : cfg->systems) {
      uint16_t port = s.name == "crm" ? p.crm : s.name == "erp" ? p.erp : p.fin;
      s.base_url = "http://127.0.0.1:" + std::to_string(port);
      s.rate_limits.requests_per_second = 1000;
      s.rate_limits.burst = 100;
    }
    cfg->agent.state_dir = dir_.path() + "/state";
    cfg->agent.poll_interval_ms = poll_ms;
    return std::move(*cfg);
  }

  void start(mappers::Config cfg, bool serve_webhooks = false) {
    AgentOptions o;
    o.log = &log_;
    o.store.sync = false;
    o.writer_context = &writer_io_.ioc();  // as the daemon runs it
    o.backoff = [](uint32_t, int64_t retry_after) {
      return std::min<int64_t>(std::max<int64_t>(20, retry_after), 200);
    };
    auto a = Agent::make(io_.ioc(), std::move(cfg), o);
    ASSERT_TRUE(a) << a.error().message;
    agent_ = std::move(*a);
    net::Router router;
    agent_->addRoutes(router);
    if (serve_webhooks) {
      http_ =
          std::make_unique<net::HttpServer>(io_.ioc(), net::HttpServerOptions{}, std::move(router));
      ASSERT_TRUE(http_->start());
    }
    ASSERT_TRUE(agent_->start());
  }

  // Polls ten minutes apart, the agent's webhook routes served, and once every detector has
  // read its feed the CRM's webhooks pointed at them (signed with `secret`): from then on only a
  // webhook brings a CRM change soon.
  bool startWithCrmWebhook(const std::string& secret) {
    start(config(600'000), /*serve_webhooks=*/true);
    if (::testing::Test::HasFatalFailure()) {
      return false;
    }
    const bool loaded = waitFor(
        [&] {
          auto st = agent_->status();
          return std::all_of(st.detectors.begin(), st.detectors.end(),
                             [](const DetectorStatus& d) { return d.initial_load_done; });
        },
        std::chrono::seconds(20));
    return loaded &&
           client_
               ->setWebhook("crm", "http://127.0.0.1:" + std::to_string(httpPort()) + "/hooks/crm",
                            secret)
               .has_value();
  }

  // Ann created in the CRM, then the agent started (polling) and Ann synced once to every
  // system, nothing left to push.
  bool startWithAnnSynced() {
    if (!client_->humanCreate("crm", kAnn)) {
      return false;
    }
    start(config());
    return waitFor([&] { return everywhereOnce("ann@example.com") && quiet(); },
                   std::chrono::seconds(20));
  }

  // The CRM's webhook on (polls ten minutes apart), Ann created in the CRM and synced to every
  // system, nothing left to push.
  bool startWithAnnEverywhere() {
    return startWithCrmWebhook("crm-secret") && client_->humanCreate("crm", kAnn) &&
           waitFor([&] { return everywhereOnce("ann@example.com") && quiet(); },
                   std::chrono::seconds(20));
  }

  void stop() {
    if (!agent_ || stopped_) {
      return;
    }
    stopped_ = true;
    auto p = std::make_shared<std::promise<void>>();
    auto f = p->get_future();
    agent_->drain([p] { p->set_value(); });
    EXPECT_EQ(f.wait_for(std::chrono::seconds(20)), std::future_status::ready) << "drain hung";
  }
  // A new agent on the same state (a restart).
  void restart(mappers::Config cfg) {
    stop();
    agent_.reset();
    stopped_ = false;
    start(std::move(cfg));
  }

  rapidjson::Document snapshot() {
    auto text = client_->snapshot();
    EXPECT_TRUE(text) << (text ? "" : text.error().message);
    rapidjson::Document d;
    d.Parse(text ? text->c_str() : "{}");
    return d;
  }
  // The records of `system` holding `email`.
  std::vector<rapidjson::Document> find(const std::string& system, const std::string& email) {
    auto snap = snapshot();
    std::vector<rapidjson::Document> out;
    if (!snap.HasMember(system.c_str())) {
      return out;
    }
    for (const auto& r : snap[system.c_str()].GetArray()) {
      if (emailOf(system, r) == email) {
        rapidjson::Document copy;
        copy.CopyFrom(r, copy.GetAllocator());
        out.push_back(std::move(copy));
      }
    }
    return out;
  }
  size_t count(const std::string& system, const std::string& email) {
    return find(system, email).size();
  }
  bool everywhereOnce(const std::string& email) {
    return count("crm", email) == 1 && count("erp", email) == 1 && count("fin", email) == 1;
  }
  bool quiet() { return agent_->status().outbox_depth == 0; }
  int64_t counter(const std::string& system, const std::string& name) {
    auto text = client_->counters();
    rapidjson::Document d;
    d.Parse(text ? text->c_str() : "{}");
    const rapidjson::Value* v = rapidjson::Pointer(("/" + system + "/" + name).c_str()).Get(d);
    return v != nullptr && v->IsInt64() ? v->GetInt64() : 0;
  }
  std::string idOf(const std::string& system, const std::string& email) {
    auto found = find(system, email);
    if (found.empty()) {
      return "";
    }
    const rapidjson::Value* id = rapidjson::Pointer(system == "fin" ? "/Id" : "/id").Get(found[0]);
    if (id == nullptr) {
      return "";
    }
    return id->IsString() ? id->GetString() : std::to_string(id->GetInt64());
  }

  // For failure messages: the systems' records and the agent's log (stops the agent).
  std::string debug() {
    auto text = client_->snapshot();
    stop();
    return (text ? *text : text.error().message) + "\n" + log_out_.str();
  }

  fixtures::FixtureClient& client() { return *client_; }
  Agent& agent() { return *agent_; }
  IoRunner& io() { return io_; }
  uint16_t httpPort() const { return http_->port(); }

 private:
  tandem::testing::TempDir dir_;
  std::unique_ptr<fixtures::FixtureServer> server_;
  std::unique_ptr<fixtures::FixtureClient> client_;
  IoRunner writer_io_{1};  // the store writer's own thread; outlives io_ and the agent
  IoRunner io_{2};
  std::ostringstream log_out_;
  Logger log_;
  std::unique_ptr<net::HttpServer> http_;
  std::unique_ptr<Agent> agent_;
  bool stopped_ = false;
};

}  // namespace tandem::agent::runtime::testing
