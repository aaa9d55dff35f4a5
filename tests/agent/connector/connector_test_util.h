#pragma once

// Shared by the connector tests: the fixture servers on port 0, the demo configuration's three
// systems pointed at them, an io_context on two threads, and helpers to drive a connector.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include "agent/clock.h"
#include "agent/connector/connector.h"
#include "fixtures/client/fixture_client.h"
#include "fixtures/fixture_server.h"
#include "mappers/config_loader.h"
#include "tests/agent/io_runner.h"

namespace tandem::agent::connector::testing {

// Secrets as the fixtures expect them; files from disk (the demo's mapping includes).
class TestEnv : public mappers::ConfigEnv {
 public:
  std::optional<std::string> env(const std::string& name) const override {
    static const std::map<std::string, std::string> kValues = {
        {"CRM_TOKEN", "crm-token"},
        {"ERP_KEY", "erp-key"},
        {"FIN_TOKEN", "fin-token"},
        {"CRM_WEBHOOK_SECRET", "crm-hook-secret"},
        {"FIN_WEBHOOK_VERIFIER", "fin-verifier"}};
    const auto it = kValues.find(name);
    return it == kValues.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  Result<std::string> readFile(const std::string& path) const override {
    return mappers::SystemConfigEnv().readFile(path);
  }
};

inline rapidjson::Document parseJson(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  EXPECT_FALSE(doc.HasParseError()) << "not JSON: " << text;
  return doc;
}

// Everything a feed returned over several calls.
struct Drained {
  std::vector<std::string> ids;  // in order, duplicates kept
  std::vector<std::string> errors;
  std::optional<std::string> cursor;
  int calls = 0;
};

class ConnectorTest : public ::testing::Test {
 protected:
  void SetUp() override { startFixtures(""); }

  void startFixtures(const std::string& fixture_config) {
    channels_.clear();
    client_.reset();
    server_.reset();
    fixtures::FixtureOptions options;
    options.configJson = fixture_config;
    auto server = fixtures::FixtureServer::start(options);
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
    client_ = std::make_unique<fixtures::FixtureClient>(server_->ports());
    auto config = mappers::loadConfig(TANDEM_SOURCE_DIR "/fixtures/config/demo.json", TestEnv());
    ASSERT_TRUE(config) << "demo.json does not load";
    config_ = std::move(*config);
    const auto& ports = server_->ports();
    for (auto& system : config_.systems) {
      const uint16_t port = system.name == "crm"   ? ports.crm
                            : system.name == "erp" ? ports.erp
                                                   : ports.fin;
      system.base_url = "http://127.0.0.1:" + std::to_string(port);
      // Tests drive many requests quickly; pacing has its own test.
      system.rate_limits.requests_per_second = 10000;
      system.rate_limits.burst = 1000;
    }
  }

  mappers::SystemConfig& system(const std::string& name) {
    for (auto& s : config_.systems) {
      if (s.name == name) {
        return s;
      }
    }
    ADD_FAILURE() << "no system " << name;
    return config_.systems.front();
  }
  mappers::ConnectorSpec& spec(const std::string& name) {
    return system(name).entities.front().connector;
  }

  // A channel and a connector for `name`'s customer entity, made from the current config.
  Connector& connector(const std::string& name, ChannelOptions options = {},
                       const Clock* clock = nullptr) {
    const mappers::SystemConfig& sys = system(name);
    auto channel = SystemChannel::make(io_.ioc(), sys, clock ? *clock : clock_, std::move(options));
    EXPECT_TRUE(channel) << channel.error().message;
    auto conn = Connector::make(**channel, sys, sys.entities.front());
    EXPECT_TRUE(conn) << conn.error().message;
    channels_.push_back(std::move(*channel));
    connectors_.push_back(std::move(*conn));
    return *connectors_.back();
  }
  SystemChannel& lastChannel() { return *channels_.back(); }

  template <class T>
  T run(boost::asio::awaitable<T> coro) {
    auto result = io_.run(std::move(coro), std::chrono::seconds(20));
    if (!result) {
      ADD_FAILURE() << "coroutine did not finish in 20 s";
      std::abort();
    }
    return std::move(*result);
  }

  std::optional<NativeRecord> get(Connector& c, const std::string& id) {
    auto got = run(c.get(id));
    EXPECT_TRUE(got) << got.error().message;
    return got ? std::move(*got) : std::nullopt;
  }
  static std::string text(const NativeRecord& rec, const char* pointer) {
    const rapidjson::Value* v = rapidjson::Pointer(pointer).Get(rec.body);
    return v != nullptr && v->IsString() ? v->GetString() : "";
  }

  // One batch create of these mapped bodies (JSON text) with these idempotency keys.
  Result<std::vector<engine::PushOutcome>> createMany(Connector& c,
                                                      const std::vector<std::string>& bodies,
                                                      std::vector<std::string> keys) {
    std::vector<rapidjson::Document> docs;
    for (const auto& body : bodies) {
      docs.push_back(parseJson(body));
    }
    std::vector<const rapidjson::Value*> records;
    for (const auto& d : docs) {
      records.push_back(&d);
    }
    return run(c.createMany(std::move(records), std::move(keys)));
  }

  Result<FeedBatch> fetch(Connector& c, std::optional<std::string> cursor) {
    return run(c.fetchChanges(std::move(cursor)));
  }

  // Calls fetchChanges until more=false (at most `max_calls`), collecting ids and errors.
  Drained drain(Connector& c, std::optional<std::string> cursor, int max_calls = 100) {
    Drained out;
    out.cursor = std::move(cursor);
    for (int i = 0; i < max_calls; ++i) {
      auto batch = fetch(c, out.cursor);
      ++out.calls;
      if (!batch) {
        ADD_FAILURE() << batch.error().message;
        return out;
      }
      for (const auto& rec : batch->records) {
        if (rec.error.empty()) {
          out.ids.push_back(rec.id);
        } else {
          out.errors.push_back(rec.error);
        }
      }
      if (batch->cursor) {
        out.cursor = batch->cursor;
      }
      if (!batch->more) {
        return out;
      }
    }
    ADD_FAILURE() << "feed still had more after " << max_calls << " calls";
    return out;
  }

  static std::set<std::string> unique(const std::vector<std::string>& ids) {
    return {ids.begin(), ids.end()};
  }

  // The ids a control call created, e.g. seed → {"records":[{"crm":"101",..}]}.
  std::vector<std::string> seed(int count, const std::string& system) {
    auto answer = client_->seed(count, {system});
    EXPECT_TRUE(answer) << (answer ? "" : answer.error().message);
    std::vector<std::string> ids;
    if (answer) {
      auto doc = parseJson(*answer);
      for (const auto& r : doc["records"].GetArray()) {
        ids.emplace_back(r[system.c_str()].GetString());
      }
    }
    return ids;
  }
  std::string humanCreate(const std::string& system, const std::string& body) {
    auto answer = client_->humanCreate(system, body);
    EXPECT_TRUE(answer) << (answer ? "" : answer.error().message);
    return answer ? *answer : "";
  }
  void humanEdit(const std::string& system, const std::string& id, const std::string& body) {
    auto answer = client_->humanEdit(system, id, body);
    EXPECT_TRUE(answer) << (answer ? "" : answer.error().message);
  }
  void settings(const std::string& system, const std::string& json) {
    auto ok = client_->setSettings(system, json);
    ASSERT_TRUE(ok) << ok.error().message;
  }
  void clock(const std::string& json) {
    auto ok = client_->setClock(json);
    ASSERT_TRUE(ok) << ok.error().message;
  }
  int64_t counter(const std::string& system, const std::string& name) {
    auto text = client_->counters();
    EXPECT_TRUE(text);
    auto doc = parseJson(text ? *text : "{}");
    if (!doc.HasMember(system.c_str()) || !doc[system.c_str()].HasMember(name.c_str())) {
      return 0;
    }
    return doc[system.c_str()][name.c_str()].GetInt64();
  }

  // 2023-11-14T22:13:20Z, a round instant tests freeze the fixtures' clock at.
  static constexpr int64_t kT0 = 1700000000000;

  // `count` records of `system` within 600 ms of kT0 (three bursts), the fixtures' clock frozen.
  std::vector<std::string> burst(const std::string& system, int count) {
    clock(R"({"freeze_at_ms":1700000000000})");
    std::vector<std::string> ids;
    for (int part = 0; part < 3; ++part) {
      const auto some = seed(count / 3 + (part == 2 ? count % 3 : 0), system);
      ids.insert(ids.end(), some.begin(), some.end());
      clock(R"({"advance_ms":300})");
    }
    return ids;
  }

  std::unique_ptr<fixtures::FixtureServer> server_;
  std::unique_ptr<fixtures::FixtureClient> client_;
  mappers::Config config_;
  agent::testing::IoRunner io_;
  SystemClock clock_;
  std::vector<std::unique_ptr<SystemChannel>> channels_;
  std::vector<std::unique_ptr<Connector>> connectors_;
};

// The ids as a set, failing for each one reported twice.
inline std::set<std::string> expectOnce(const std::vector<std::string>& ids) {
  std::set<std::string> out;
  for (const auto& id : ids) {
    EXPECT_TRUE(out.insert(id).second) << "reported twice: " << id;
  }
  return out;
}

template <class T>
const T* as(const engine::PushOutcome& outcome) {
  return std::get_if<T>(&outcome);
}

inline std::string describe(const engine::PushOutcome& outcome) {
  if (auto* s = std::get_if<engine::PushSuccess>(&outcome)) {
    return "success id=" + s->native_id + " version=" + s->version_token;
  }
  if (auto* r = std::get_if<engine::PushRetryable>(&outcome)) {
    return "retryable: " + r->error;
  }
  if (std::holds_alternative<engine::PushStale>(outcome)) {
    return "stale";
  }
  if (auto* p = std::get_if<engine::PushPermanent>(&outcome)) {
    return "permanent: " + p->error;
  }
  return "not found";
}

}  // namespace tandem::agent::connector::testing
