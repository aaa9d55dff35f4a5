#pragma once

// An in-memory stand-in for three REST systems and the loop a daemon runs around the engine:
// poll each system's feed into ingest(), hand due pushes to the systems, report the answers.
// Each system is a map native id -> field values that applies PushJobs as a real API would:
// creates assign ids (an upsert by the idempotency key, like QuickBooks' requestid or a HubSpot
// external-id property), updates overwrite only the fields sent, every write bumps its updated
// time and its change-feed sequence.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/clock.h"
#include "agent/engine/engine.h"
#include "state/store.h"
#include "tests/agent/engine/three_systems.h"
#include "tests/support/temp_dir.h"

namespace tandem::engine::testing {

using conflict::Value;

inline const std::vector<std::string> kFields = {"email", "name", "phone", "tags"};

using tandem::testing::TempDir;

struct SimRecord {
  std::map<std::string, Value> fields;  // absent = empty
  bool deleted = false;
  std::string key;  // the idempotency key of the create that made it, "" for a human create
  int64_t updated = 0;
  uint64_t seq = 0;
};

class SimSystem {
 public:
  SimSystem(ActorId id, std::string name, agent::SimulatedClock& clock)
      : id_(id), name_(std::move(name)), clock_(clock) {}

  ActorId id() const { return id_; }

  std::string humanCreate(const std::map<std::string, Value>& fields) {
    std::string native = name_ + "-" + std::to_string(++next_id_);
    SimRecord& r = recs_[native];
    setFields(r, fields);
    bump(r);
    return native;
  }
  void humanEdit(const std::string& native, const std::string& field, Value v) {
    SimRecord& r = recs_.at(native);
    setFields(r, {{field, std::move(v)}});
    bump(r);
  }

  void humanSetDeleted(const std::string& native, bool deleted) {
    SimRecord& r = recs_.at(native);
    r.deleted = deleted;
    bump(r);
  }

  // Gone without a trace in the feed (an Odoo-like hard delete).
  void hardDelete(const std::string& native) { recs_.erase(native); }

  // Applies a push as the system's API would, with the faults the test switched on.
  PushOutcome apply(const PushJob& job) {
    received_.push_back(job);
    if (down_) {
      return PushRetryable{"503 service unavailable", 0};
    }
    if (reject_) {
      for (const auto& f : job.plan.fields) {
        if (auto msg = reject_(f.name, f.value)) {
          return PushPermanent{*msg};
        }
      }
    }
    std::string native = job.native_id;
    if (job.plan.op == conflict::PushOp::Create) {
      auto known = by_key_.find(job.idempotency_key);
      std::optional<std::string> same = matchOf(job);
      if (known != by_key_.end()) {
        native = known->second;  // a repeated request id: the same record, not a second one
      } else if (same) {
        native = *same;  // the connector's read-back by match key found a person's own copy
        by_key_[job.idempotency_key] = native;
      } else {
        native = name_ + "-" + std::to_string(++next_id_);
        recs_[native].key = job.idempotency_key;
        by_key_[job.idempotency_key] = native;
        ++creates_;
      }
    }
    auto it = recs_.find(native);
    if (it == recs_.end()) {
      return PushNotFound{};
    }
    SimRecord& r = it->second;
    std::map<std::string, Value> body;
    for (const auto& f : job.plan.fields) {
      body[f.name] = f.value;
    }
    setFields(r, body);
    if (job.plan.op == conflict::PushOp::Delete) {
      r.deleted = true;
    } else if (job.plan.op == conflict::PushOp::Undelete ||
               job.plan.op == conflict::PushOp::Create) {
      r.deleted = false;
    }
    bump(r);
    return PushSuccess{native, "v" + std::to_string(r.seq), r.updated};
  }

  // The change feed after `cursor` (a feed sequence), latest state of each changed record.
  std::vector<Incoming> poll(const std::optional<std::string>& cursor, std::string& next) const {
    uint64_t after = cursor ? std::stoull(*cursor) : 0;
    std::vector<std::pair<uint64_t, std::string>> changed;
    for (const auto& [native, r] : recs_) {
      if (r.seq > after) {
        changed.emplace_back(r.seq, native);
      }
    }
    std::sort(changed.begin(), changed.end());
    std::vector<Incoming> out;
    uint64_t last = after;
    for (const auto& [seq, native] : changed) {
      const SimRecord& r = recs_.at(native);
      Incoming in;
      in.native_id = native;
      in.report.system = id_;
      for (const auto& f : kFields) {
        auto v = r.fields.find(f);
        in.report.fields[f] = v != r.fields.end() ? v->second : Value::null();
      }
      in.report.deleted = r.deleted;
      in.report.source_ts_ms = r.updated;
      in.report.version_token = "v" + std::to_string(r.seq);
      auto email = r.fields.find("email");
      if (email != r.fields.end()) {
        in.match_values.emplace_back("email", lower(email->second.asString()));
      }
      in.idempotency_key = r.key;
      out.push_back(std::move(in));
      last = seq;
    }
    next = std::to_string(last);
    return out;
  }

  const std::map<std::string, SimRecord>& records() const { return recs_; }
  std::optional<std::string> nativeByEmail(const std::string& email) const {
    for (const auto& [native, r] : recs_) {
      auto e = r.fields.find("email");
      if (e != r.fields.end() && e->second.asString() == email) {
        return native;
      }
    }
    return std::nullopt;
  }
  const std::vector<PushJob>& received() const { return received_; }
  void clearReceived() { received_.clear(); }
  size_t creates() const { return creates_; }
  void setDown(bool down) { down_ = down; }
  void setReject(std::function<std::optional<std::string>(const std::string&, const Value&)> r) {
    reject_ = std::move(r);
  }

 private:
  static std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  }
  std::optional<std::string> matchOf(const PushJob& job) const {
    for (const auto& [key, value] : job.match_fields) {
      for (const auto& [native, r] : recs_) {
        auto f = r.fields.find(key);
        if (!r.deleted && f != r.fields.end() && f->second.kind() == Value::Kind::String &&
            lower(f->second.asString()) == lower(value.asString())) {
          return native;
        }
      }
    }
    return std::nullopt;
  }
  static void setFields(SimRecord& r, const std::map<std::string, Value>& fields) {
    for (const auto& [k, v] : fields) {
      if (v.isNull()) {
        r.fields.erase(k);
      } else {
        r.fields[k] = v;
      }
    }
  }
  void bump(SimRecord& r) {
    ts_ = std::max(ts_ + 1, clock_.nowMs());
    r.updated = ts_;
    r.seq = ++seq_;
  }

  ActorId id_;
  std::string name_;
  agent::SimulatedClock& clock_;
  std::map<std::string, SimRecord> recs_;
  std::map<std::string, std::string> by_key_;
  std::vector<PushJob> received_;
  uint64_t next_id_ = 0;
  uint64_t seq_ = 0;
  int64_t ts_ = 0;
  size_t creates_ = 0;
  bool down_ = false;
  std::function<std::optional<std::string>(const std::string&, const Value&)> reject_;
};

inline EngineConfig testConfig(conflict::EntityPolicy policy = {}) {
  return threeSystems(kFields, std::move(policy));
}

// The store, the engine and three systems, with the daemon's loop as explicit steps.
class Harness {
 public:
  explicit Harness(EngineConfig config = testConfig()) : config_(std::move(config)) { reopen(); }

  // kill -9 and restart: everything in memory is gone, only the LMDB directory remains.
  void reopen() {
    engine_.reset();
    store_.reset();
    state::Options o;
    o.initial_map_bytes = 1 << 20;
    o.sync = false;
    auto s = state::Store::open(dir_.path(), o);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    config_.id_seed = ++restarts_ * 1000 + 7;
    engine_ = std::make_unique<SyncEngine>(*store_, clock_, config_);
  }

  SimSystem& sim(ActorId id) { return sims_.at(id - 1); }
  SyncEngine& engine() { return *engine_; }
  state::Store& store() { return *store_; }
  agent::SimulatedClock& clock() { return clock_; }

  // One poll of one system's feed into one ingest. Returns the records ingested.
  size_t poll(ActorId id) {
    auto cursor = engine_->cursor(id, "customer");
    EXPECT_TRUE(cursor) << cursor.error().message;
    std::string next;
    auto in = sim(id).poll(*cursor, next);
    size_t n = in.size();
    if (n > 0) {
      auto r = engine_->ingest(id, "customer", std::move(in), next);
      EXPECT_TRUE(r) << r.error().message;
    }
    return n;
  }

  // Due pushes of one system, applied and completed. `lose_answer_at` drops the answer of the
  // n-th job (the system applied it; tandem never heard): the caller then restarts.
  size_t push(ActorId id, std::optional<size_t> lose_answer_at = {}) {
    auto jobs = engine_->duePushes(id, 100);
    EXPECT_TRUE(jobs) << jobs.error().message;
    size_t i = 0;
    for (const auto& job : *jobs) {
      PushOutcome o = sim(id).apply(job);
      if (lose_answer_at && i == *lose_answer_at) {
        return i + 1;
      }
      auto done = engine_->completePush(id, job, o);
      EXPECT_TRUE(done) << done.error().message;
      ++i;
    }
    return jobs->size();
  }

  size_t outboxSize() {
    auto snap = store_->read();
    EXPECT_TRUE(snap);
    auto n = snap->outboxSize();
    return n ? *n : 0;
  }

  std::vector<conflict::ConflictEntry> conflicts() {
    auto snap = store_->read();
    EXPECT_TRUE(snap);
    auto c = snap->conflicts(0, 1000);
    return c ? *c : std::vector<conflict::ConflictEntry>{};
  }

  // Polls and pushes until nothing moves; time advances past backoff and create leases.
  void settle(int max_rounds = 60) {
    for (int round = 0; round < max_rounds; ++round) {
      size_t moved = 0;
      for (ActorId id : {kCrm, kErp, kFin}) {
        moved += poll(id);
      }
      for (ActorId id : {kCrm, kErp, kFin}) {
        moved += push(id);
      }
      if (moved == 0) {
        if (outboxSize() == 0) {
          return;
        }
        clock_.advanceMs(61'000);
      } else {
        clock_.advanceMs(10);
      }
    }
    ADD_FAILURE() << "not quiescent after " << max_rounds << " rounds";
  }

  // Every live record once in every system (by email), every mapped field equal; a record
  // archived somewhere is archived (or absent: never created) everywhere; no email twice.
  void expectConverged() {
    std::map<std::string, std::array<const SimRecord*, 3>> by_email;
    for (ActorId id : {kCrm, kErp, kFin}) {
      for (const auto& [native, r] : sim(id).records()) {
        ASSERT_TRUE(r.fields.count("email")) << native;
        auto& slot = by_email[r.fields.at("email").asString()][id - 1];
        EXPECT_EQ(slot, nullptr) << r.fields.at("email").asString() << " twice in system "
                                 << int(id);
        slot = &r;
      }
    }
    for (const auto& [email, copies] : by_email) {
      bool live = copies[0] != nullptr && !copies[0]->deleted;
      for (size_t i = 0; i < 3; ++i) {
        const SimRecord* r = copies[i];
        if (live) {
          ASSERT_NE(r, nullptr) << email << " missing in system " << i + 1;
          EXPECT_FALSE(r->deleted) << email << " archived only in system " << i + 1;
          EXPECT_EQ(r->fields, copies[0]->fields) << email << " differs in system " << i + 1;
        } else {
          EXPECT_TRUE(r == nullptr || r->deleted) << email << " live only in system " << i + 1;
        }
      }
    }
    EXPECT_EQ(outboxSize(), 0u);
  }

 private:
  TempDir dir_;
  agent::SimulatedClock clock_;
  EngineConfig config_;
  std::unique_ptr<state::Store> store_;
  std::unique_ptr<SyncEngine> engine_;
  std::array<SimSystem, 3> sims_{SimSystem(kCrm, "crm", clock_), SimSystem(kErp, "erp", clock_),
                                 SimSystem(kFin, "fin", clock_)};
  uint64_t restarts_ = 0;
};

inline Value str(std::string s) {
  return Value::string(std::move(s));
}

}  // namespace tandem::engine::testing
