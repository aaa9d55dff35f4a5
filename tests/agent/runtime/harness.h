#pragma once

// The running agent against fake systems: a real LMDB store in a temp dir, the io_context on two
// threads, a configuration of one entity (customer: email, name, phone) over crm, erp and fin.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "agent/runtime/agent.h"
#include "mappers/config_loader.h"
#include "tests/agent/io_runner.h"
#include "tests/agent/runtime/fake_connector.h"
#include "tests/mappers/test_env.h"
#include "tests/support/temp_dir.h"

namespace tandem::agent::runtime::testing {

using agent::testing::IoRunner;
using agent::testing::waitFor;

inline std::string systemJson(const std::string& name, bool webhook) {
  std::string hook;
  if (webhook) {
    hook = R"(, "webhook": {"path": "/hooks/)" + name + R"(", "ids": "/*",
        "signature": {"header": "X-Sig", "encoding": "hex", "parts": ["body"],
                      "secret": {"env": "HOOK_SECRET"}}})";
  }
  // Only fin's updates carry a version token (If-Match, 412 when stale), like the finance
  // system's SyncToken; crm and erp are written blindly, like HubSpot and Odoo.
  std::string token;
  if (name == "fin") {
    token = R"(, "concurrency": "if_match", "stale": [{"status": 412}])";
  }
  return R"({"name": ")" + name + R"(", "base_url": "http://127.0.0.1:1", "auth": {"kind": "none"},
    "rate_limits": {"max_in_flight": 2},
    "entities": {"customer": {
      "connector": {
        "feed": {"url": "/feed?since={since}", "records": "/results",
                 "since": {"format": "epoch_ms"}, "paging": {"kind": "none", "max_results": 100}},
        "record": {"id": "/id", "updated": "/updatedAt"},
        "get": {"url": "/c/{id}"},
        "create": {"url": "/c", "id": {"body": "/id"}},
        "update": {"url": "/c/{id}")" +
         token + R"(})" + hook + R"(},
      "mapping": {"fields": {"email": {"path": "/email", "required": true},
                             "name": {"path": "/name"}, "phone": {"path": "/phone"}}}}}})";
}

inline std::string configJson(const std::vector<std::string>& systems, int64_t poll_ms,
                              const std::string& extra_field_policy = "") {
  std::string priority;
  for (const char* p : {"fin", "erp", "crm"}) {
    if (std::find(systems.begin(), systems.end(), p) != systems.end()) {
      priority += std::string(priority.empty() ? "" : ", ") + "\"" + p + "\"";
    }
  }
  std::string s = R"({"agent": {"state_dir": "state", "poll_interval_ms": )" +
                  std::to_string(std::max<int64_t>(poll_ms, 100)) + R"(},
  "entities": [{"name": "customer", "fields": {
      "email": {"type": "string", "normalize": {"case": "lower"}},
      "name": {"type": "string"}, "phone": {"type": "string")" +
                  extra_field_policy + R"(}},
    "match_keys": ["email"], "system_priority": [)" +
                  priority + R"(]}],
  "systems": [)";
  for (size_t i = 0; i < systems.size(); ++i) {
    s += (i ? ",\n" : "") + systemJson(systems[i], systems[i] == "crm");
  }
  return s + "]}";
}

class RuntimeHarness {
 public:
  RuntimeHarness() : log_(log_out_, mappers::LogFormat::Text, LogLevel::Debug) {}
  ~RuntimeHarness() { shutdown(); }

  mappers::Config config(const std::vector<std::string>& systems = {"crm", "erp", "fin"},
                         int64_t poll_ms = 20, const std::string& phone_policy = "") {
    mappers::testing::FakeEnv env;
    env.vars["HOOK_SECRET"] = "hook-secret";
    auto cfg = mappers::loadConfigText(configJson(systems, poll_ms, phone_policy),
                                       dir_.path() + "/tandem.json", env);
    EXPECT_TRUE(cfg.has_value()) << (cfg ? "" : cfg.error().formatAll());
    if (!cfg) {
      return mappers::Config{};
    }
    cfg->agent.poll_interval_ms = poll_ms;  // below the loader's floor of 100 ms: tests only
    return std::move(*cfg);
  }

  AgentOptions options() {
    AgentOptions o;
    o.log = &log_;
    o.store.sync = false;
    o.store.initial_map_bytes = 1 << 20;
    o.connector_factory = world_.connectorFactory();
    o.channel_factory = world_.channelFactory();
    o.backoff = [](uint32_t, int64_t retry_after) { return std::max<int64_t>(5, retry_after); };
    o.progress = &progress_out_;
    o.writer_context = &writer_io_.ioc();  // as the daemon runs it
    if (tweak_options) {
      tweak_options(o);
    }
    return o;
  }
  std::function<void(AgentOptions&)> tweak_options;  // set before start(): a test's own options

  Agent& make(mappers::Config cfg) {
    auto a = Agent::make(io_.ioc(), std::move(cfg), options());
    EXPECT_TRUE(a.has_value()) << (a ? "" : a.error().message);
    agent_ = std::move(*a);
    return *agent_;
  }
  Agent& start(mappers::Config cfg) {
    make(std::move(cfg));
    net::Router router;
    agent_->addRoutes(router);
    router_ = std::move(router);
    auto s = agent_->start();
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
    return *agent_;
  }

  // Drains and waits for `done`; returns how many times it was called.
  int drain() {
    if (!agent_) {
      return 0;
    }
    drained_ = true;
    auto p = std::make_shared<std::promise<void>>();
    auto f = p->get_future();
    agent_->drain([this, p] {
      ++done_calls_;
      p->set_value();  // a second call would throw: `done` must run once
    });
    EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "drain hung";
    return done_calls_.load();
  }

  // Drains and drops the agent; the systems, the io_context and the state dir stay.
  void stopAgent() {
    if (agent_ && !drained_) {
      drain();
    }
    agent_.reset();
    drained_ = false;
  }

  void shutdown() {
    if (agent_ && !drained_) {
      drained_ = true;
      drain();
    }
    io_.stop();
    writer_io_.stop();
    agent_.reset();
  }

  // Dispatches a request to the agent's webhook routes.
  net::HttpResponse post(const std::string& path, const std::string& body, const std::string& sig) {
    net::HttpRequest req;
    req.method = "POST";
    req.target = path;
    req.body = body;
    req.headers.emplace_back("X-Sig", sig);
    auto r = io_.run(router_.dispatch(std::move(req)));
    EXPECT_TRUE(r.has_value()) << "webhook dispatch hung";
    return r ? *r : net::HttpResponse{};
  }

  // Every system holds `email` exactly once and the outbox is empty.
  bool converged(const std::string& email,
                 const std::vector<std::string>& systems = {"crm", "erp", "fin"}) {
    for (const auto& s : systems) {
      if (world_.system(s).countEmail(email) != 1) {
        return false;
      }
    }
    return agent_->status().outbox_depth == 0;
  }

  // Every detector has read its feed to the end once.
  bool initialLoadsDone() {
    auto st = agent_->status();
    return std::all_of(st.detectors.begin(), st.detectors.end(),
                       [](const DetectorStatus& d) { return d.initial_load_done; });
  }

  FakeSystem& sys(const std::string& name) { return world_.system(name); }
  Agent& agent() { return *agent_; }
  // One system's detector and push figures from status() (empty when it has none).
  DetectorStatus detectorOf(const std::string& system) {
    for (auto& d : agent_->status().detectors) {
      if (d.system == system) {
        return d;
      }
    }
    return DetectorStatus{};
  }
  SystemStatus systemOf(const std::string& system) {
    for (auto& s : agent_->status().systems) {
      if (s.name == system) {
        return s;
      }
    }
    return SystemStatus{};
  }
  IoRunner& io() { return io_; }
  const std::string& dir() const { return dir_.path(); }
  std::string logText() const { return log_out_.str(); }  // after shutdown() only
  std::string progressText() const { return progress_out_.str(); }
  std::atomic<int>& doneCalls() { return done_calls_; }

 private:
  tandem::testing::TempDir dir_;
  IoRunner writer_io_{1};  // the store writer's own thread; outlives io_ and the agent
  IoRunner io_{2};
  FakeWorld world_;
  std::ostringstream log_out_;
  std::ostringstream progress_out_;
  Logger log_;
  net::Router router_;
  std::unique_ptr<Agent> agent_;
  std::atomic<int> done_calls_{0};
  bool drained_ = false;
};

}  // namespace tandem::agent::runtime::testing
