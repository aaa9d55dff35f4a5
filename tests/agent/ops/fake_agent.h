#pragma once

// Test doubles for agent/ops: a store populated with conflicts and dead letters through
// state::Batch, and a fake runtime::Agent over it whose operator actions run a real SyncEngine
// (so resolving really closes the conflict and queues the pushes).

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "agent/engine/engine.h"
#include "agent/runtime/agent.h"
#include "tests/support/temp_dir.h"

namespace tandem::agent::ops::testing {

inline constexpr conflict::ActorId kCrm = 1;
inline constexpr conflict::ActorId kFin = 2;
inline constexpr conflict::ActorId kAgent = 3;
inline constexpr int64_t kT0 = 1'764'410'400'000;  // 2025-11-29T10:00:00.000Z

inline conflict::VersionVector vv(std::initializer_list<std::pair<conflict::ActorId, uint64_t>> c) {
  conflict::VersionVector v;
  for (auto [a, n] : c) {
    v.set(a, n);
  }
  return v;
}

// The configuration the fake agent reports: one entity with typed fields, two systems.
inline mappers::Config testConfig(const std::string& state_dir) {
  mappers::Config c;
  c.path = "test.json";
  c.agent.state_dir = state_dir;
  mappers::EntityConfig e;
  e.name = "customer";
  auto field = [](std::string name, mappers::FieldType type) {
    mappers::CanonicalField f;
    f.name = std::move(name);
    f.type = type;
    return f;
  };
  // Sorted by name, as the loader keeps them.
  e.fields.push_back(field("company", mappers::FieldType::String));
  e.fields.push_back(field("credit_limit", mappers::FieldType::Number));
  e.fields.push_back(field("tags", mappers::FieldType::StringSet));
  c.entities.push_back(std::move(e));
  for (const char* name : {"crm", "fin"}) {
    mappers::SystemConfig s;
    s.name = name;
    c.systems.push_back(std::move(s));
  }
  return c;
}

inline engine::EngineConfig testEngineConfig() {
  engine::EngineConfig ec;
  ec.agent = kAgent;
  engine::EntityConfig e;
  e.name = "customer";
  e.policy.fields["company"] = conflict::PolicySpec{conflict::PolicyKind::Manual, {}};
  e.systems = {conflict::SystemSpec{kCrm, {}}, conflict::SystemSpec{kFin, {}}};
  e.match_keys = {};
  ec.entities.push_back(std::move(e));
  ec.id_seed = 7;
  return ec;
}

struct Seeded {
  uint64_t open_id = 0;    // manual conflict on customer r-1 company: crm vs fin, held at "Acme"
  uint64_t closed_id = 0;  // resolved conflict on r-1 credit_limit
  uint64_t other_id = 0;   // open conflict on r-2 tags
};

// Two records, three conflicts (two open), two dead letters (fin r-1, crm r-2).
inline Seeded seedStore(state::Store& store) {
  Seeded s;
  auto record = [](std::string id, std::string field, conflict::Value v) {
    conflict::Record r;
    r.id = std::move(id);
    r.entity = "customer";
    conflict::FieldState& f = r.fields[field];
    f.value = std::move(v);
    f.vv = vv({{kCrm, 10}});
    f.source = kCrm;
    f.source_ts_ms = kT0;
    return r;
  };
  auto entry = [](std::string rec, std::string field, conflict::PolicyKind policy,
                  conflict::Value a, conflict::Value b, conflict::Value outcome, bool open) {
    conflict::ConflictEntry e;
    e.record = std::move(rec);
    e.entity = "customer";
    e.field = std::move(field);
    e.policy = policy;
    e.sides = {
        conflict::ConflictSide{kCrm, std::move(a), vv({{kCrm, 11}}), kT0 + 1000},
        conflict::ConflictSide{kFin, std::move(b), vv({{kCrm, 10}, {kFin, 12}}), kT0 + 2000}};
    e.outcome = std::move(outcome);
    e.outcome_vv = vv({{kCrm, 10}});
    e.open = open;
    e.created_ms = kT0 + 3000;
    if (!open) {
      e.resolved_ms = kT0 + 4000;
      e.note = "prefer fin";
    }
    return e;
  };
  using conflict::Value;
  state::Batch b;
  b.actors = {{"crm", kCrm}, {"fin", kFin}, {"tandem", kAgent}};
  b.conflicts.push_back(entry("r-1", "company", conflict::PolicyKind::Manual,
                              Value::string("Acme Europe"), Value::string("Acme GmbH"),
                              Value::string("Acme"), true));
  b.conflicts.push_back(entry("r-1", "credit_limit", conflict::PolicyKind::Prefer,
                              Value::number(5000), Value::number(7500), Value::number(7500),
                              false));
  b.conflicts.push_back(entry("r-2", "tags", conflict::PolicyKind::Manual,
                              Value::stringSet({"vip"}), Value::stringSet({"churn", "vip"}),
                              Value::stringSet({"vip"}), true));
  b.dead_letters.push_back(state::DeadLetter{kFin, "r-1", "400 CreditLimit: must not be negative",
                                             kT0 + 5000, 3, state::PushKind::Update});
  b.dead_letters.push_back(
      state::DeadLetter{kCrm, "r-2", "422 email: invalid", kT0 + 6000, 1, state::PushKind::Create});
  auto applied = store.apply(b);
  EXPECT_TRUE(applied) << applied.error().message;
  s.open_id = applied->conflict_ids.at(0);
  s.closed_id = applied->conflict_ids.at(1);
  s.other_id = applied->conflict_ids.at(2);

  state::Batch records;
  conflict::Record r1 = record("r-1", "company", Value::string("Acme"));
  r1.fields["company"].open_conflict = s.open_id;
  r1.fields["credit_limit"].value = Value::number(7500);
  r1.fields["credit_limit"].vv = vv({{kCrm, 10}, {kFin, 12}});
  records.records.push_back(std::move(r1));
  conflict::Record r2 = record("r-2", "tags", Value::stringSet({"vip"}));
  r2.fields["tags"].open_conflict = s.other_id;
  records.records.push_back(std::move(r2));
  auto done = store.apply(records);
  EXPECT_TRUE(done) << done.error().message;
  return s;
}

inline std::unique_ptr<state::Store> openStore(const std::string& dir) {
  state::Options o;
  o.initial_map_bytes = 1 << 20;
  o.sync = false;
  auto s = state::Store::open(dir, o);
  EXPECT_TRUE(s) << s.error().message;
  return s ? std::move(*s) : nullptr;
}

class FakeAgent : public runtime::Agent {
 public:
  FakeAgent(std::unique_ptr<state::Store> store, mappers::Config config)
      : store_(std::move(store)),
        config_(std::move(config)),
        engine_(*store_, clock_, testEngineConfig()) {
    status_.state = "running";
    status_.records_total = 2;
  }

  void addRoutes(net::Router& router) override {
    router.add("POST", "/hooks/crm",
               [](net::HttpRequest) -> boost::asio::awaitable<net::HttpResponse> {
                 co_return net::HttpResponse{};
               });
  }
  Status start() override {
    started = true;
    return {};
  }
  bool ready() const override { return ready_flag.load(); }
  void stopIntake() override { intake_stopped = true; }
  void drain(std::function<void()> done) override {
    std::lock_guard lock(mu_);
    if (hold_drain) {
      pending_drain = std::move(done);
    } else {
      done();
    }
  }
  bool drainPending() const {
    std::lock_guard lock(mu_);
    return static_cast<bool>(pending_drain);
  }
  int reloadCount() const {
    std::lock_guard lock(mu_);
    return reloads;
  }
  // Finishes a held drain. Like the real agent, `done` runs on an io_context thread when the
  // daemon's io_context is known (drain_ioc): run on the test thread instead, it would race the
  // daemon's exit, which destroys the io_context as soon as `done` has led to onExit.
  void releaseDrain() {
    std::function<void()> done;
    {
      std::lock_guard lock(mu_);
      done = std::move(pending_drain);
    }
    ASSERT_TRUE(done) << "drain was not called";
    if (drain_ioc != nullptr) {
      // `done` may end the daemon, which destroys the io_context: it waits until post() has
      // returned here (post signals the io_context's condition variable after queueing, and
      // ThreadSanitizer saw that signal race the io_context's destruction).
      std::promise<void> posted;
      std::shared_future<void> posted_done = posted.get_future().share();
      boost::asio::post(*drain_ioc, [done = std::move(done), posted_done]() {
        posted_done.wait();
        done();
      });
      posted.set_value();
    } else {
      done();
    }
  }
  Status reload(mappers::Config config) override {
    std::lock_guard lock(mu_);
    ++reloads;
    config_ = std::move(config);
    return {};
  }
  runtime::AgentStatus status() const override {
    std::lock_guard lock(mu_);
    return status_;
  }
  void setStatus(runtime::AgentStatus s) {
    std::lock_guard lock(mu_);
    status_ = std::move(s);
  }
  boost::asio::awaitable<Status> resolveConflict(uint64_t id, conflict::Value chosen,
                                                 std::string note) override {
    std::lock_guard lock(mu_);
    resolved_notes.push_back(note);
    co_return engine_.resolveConflict(id, chosen, std::move(note));
  }
  boost::asio::awaitable<Status> retryDeadLetter(std::string system, std::string record) override {
    std::lock_guard lock(mu_);
    const conflict::ActorId id = system == "crm" ? kCrm : system == "fin" ? kFin : 0;
    co_return engine_.retryDeadLetter(id, record);
  }
  const mappers::Config& config() const override { return config_; }
  state::Store& store() override { return *store_; }

  std::atomic<bool> ready_flag{true};
  std::atomic<bool> started{false};
  std::atomic<bool> intake_stopped{false};
  bool hold_drain = false;
  boost::asio::io_context* drain_ioc = nullptr;  // where a held drain's `done` is run
  std::function<void()> pending_drain;
  int reloads = 0;
  std::vector<std::string> resolved_notes;

 private:
  mutable std::mutex mu_;
  std::unique_ptr<state::Store> store_;
  mappers::Config config_;
  SimulatedClock clock_{kT0 + 60000};
  engine::SyncEngine engine_;
  runtime::AgentStatus status_;
};

}  // namespace tandem::agent::ops::testing
