#pragma once

// A small stand-in for the agent around the pure merge core: one record, three systems (crm,
// erp, fin) and the agent, an injected clock, and a conflict log that applies amendments the way
// the store will.

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "conflict/merge.h"
#include "conflict/push.h"
#include "conflict/resolve.h"

namespace tandem::conflict::testing {

inline constexpr ActorId kCrm = 0;
inline constexpr ActorId kErp = 1;
inline constexpr ActorId kFin = 2;
inline constexpr ActorId kAgent = 3;

class Harness {
 public:
  Harness() {
    systems_ = {SystemSpec{kCrm, {}}, SystemSpec{kErp, {}}, SystemSpec{kFin, {}}};
    state.record.id = "r1";
    state.record.entity = "customer";
  }

  MergeContext ctx() { return MergeContext{policy, clock, now_ms, kAgent, systems_, conflict_seq}; }

  void setSystems(std::vector<SystemSpec> s) { systems_ = std::move(s); }

  // Merges a report and files its conflict entries into `log`.
  MergeResult report(ActorId s, std::vector<std::pair<std::string, Value>> fields, int64_t ts,
                     std::optional<bool> deleted = std::nullopt) {
    Report r;
    r.system = s;
    for (auto& [k, v] : fields) {
      r.fields[k] = std::move(v);
    }
    r.deleted = deleted;
    r.source_ts_ms = ts;
    return merge(r);
  }

  MergeResult merge(const Report& r) {
    now_ms += 10;
    auto res = mergeReport(state, r, ctx());
    if (!res) {
      ADD_FAILURE() << res.error().message;
      return {};
    }
    file(*res);
    return std::move(*res);
  }

  void file(const MergeResult& res) {
    for (const auto& e : res.new_conflicts) {
      EXPECT_EQ(log.count(e.id), 0u) << "conflict id reused: " << e.id;
      log[e.id] = e;
    }
    for (const auto& a : res.amendments) {
      auto it = log.find(a.id);
      if (it == log.end()) {
        ADD_FAILURE() << "amendment of unknown conflict " << a.id;
        continue;
      }
      amendConflict(it->second, a);
    }
  }

  // Plans a push to t and records it as pending; confirms it when `answered` (with the
  // system's updated time `answer_ts`, 0 when the answer does not carry one).
  PushPlan push(ActorId t, bool answered = true, int64_t answer_ts = 0) {
    const SystemSpec& spec = specOf(t);
    PushPlan plan = planPush(state.record, state.shadows[t], spec);
    recordPending(state.shadows[t], plan);
    if (answered && plan.op != PushOp::None) {
      confirmPush(*state.shadows[t], plan, "v" + std::to_string(++token_), answer_ts);
    }
    return plan;
  }

  void pushAll() {
    for (const auto& s : systems_) {
      push(s.id);
    }
  }

  // The record's current value of a field (null when absent).
  Value value(const std::string& f) const {
    const FieldState* cf = state.record.fields.find(f);
    return cf != nullptr ? cf->value : Value::null();
  }

  const SystemSpec& specOf(ActorId t) const {
    for (const auto& s : systems_) {
      if (s.id == t) {
        return s;
      }
    }
    return systems_.front();
  }

  std::vector<ConflictEntry> conflictsOn(const std::string& field) const {
    std::vector<ConflictEntry> out;
    for (const auto& [id, e] : log) {
      if (e.field == field) {
        out.push_back(e);
      }
    }
    return out;
  }

  EntityPolicy policy;
  ActorClock clock;
  int64_t now_ms = 1'700'000'000'000;
  uint64_t conflict_seq = 0;
  RecordState state;
  std::map<uint64_t, ConflictEntry> log;

 private:
  std::vector<SystemSpec> systems_;
  int token_ = 0;
};

inline Value S(const char* s) {
  return Value::string(s);
}

}  // namespace tandem::conflict::testing
