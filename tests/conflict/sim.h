#pragma once

// A simulator for the property tests: three systems holding their own copy of one record,
// people editing them, and an agent around the pure merge core with an unreliable world between
// them (reports delayed, duplicated, reordered and dropped; pushes dropped, answers lost).
// Pushes carry the version token the agent last saw (If-Match), as DESIGN.md prescribes.
//
// Every value a person types is unique ("e<id>") and remembers what its author had seen: the
// history of the value it replaced in that system, plus itself. A value that ends up outside
// the final value's history was overwritten without having been seen, and must be in the
// conflict log.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "conflict/merge.h"
#include "conflict/push.h"

namespace tandem::conflict::testing {

struct SimFaults {
  double lost_answer = 0.15;  // push applied, answer never heard
  double dropped_push = 0.1;  // push never sent
  double dup_report = 0.1;    // report delivered and kept for another delivery
  double dropped_report = 0.05;
  bool fin_maps_three = false;  // fin (system 2) does not map f3: never sent, never reported
};

class Simulator {
 public:
  static constexpr size_t kSystems = 3;
  static constexpr size_t kFields = 4;
  static constexpr ActorId kAgentId = 3;

  explicit Simulator(uint64_t seed, SimFaults faults = {});

  // One random step of the chaotic phase (an edit, a poll, a delivery or a push).
  void step(bool allow_edits = true);
  // Deliver everything, push everything, poll every system; repeat until nothing changes.
  // False when that did not happen within a bound.
  bool quiesce();
  // A person edits a random field in a random system (or the given one).
  void humanEdit(std::optional<size_t> system = std::nullopt);

  // Checks after quiesce(); empty when all is well, else what is wrong.
  std::string checkConverged() const;
  std::string checkNothingLostSilently() const;
  // Every entry has two sides or more and an outcome that is one of them (the policies used
  // here never invent a value).
  std::string checkConflictEntries() const;
  bool maps(size_t system, size_t field) const {
    return !(faults_.fin_maps_three && system == 2 && field == 3);
  }

  size_t conflictCount() const { return log_.size(); }
  size_t editCount() const { return edits_.size(); }
  const std::map<uint64_t, ConflictEntry>& log() const { return log_; }

 private:
  struct Edit {
    size_t field;
    std::vector<uint64_t> history;  // bitset over edit ids: what this value had seen
  };
  struct SystemRecord {
    std::array<int, kFields> edit{};  // edit id of the value held, -1 for empty
    uint64_t version = 1;
    int64_t updated_ts = 0;
  };
  struct PushJob {
    ActorId system;
    PushPlan plan;
  };

  static std::string fieldName(size_t f) { return "f" + std::to_string(f); }
  static Value valueOf(int edit) {
    return edit < 0 ? Value::null() : Value::string("e" + std::to_string(edit));
  }
  static int editOf(const Value& v) { return v.isNull() ? -1 : std::stoi(v.asString().substr(1)); }

  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  void tick() { now_ += 1 + static_cast<int64_t>(pick(40)); }
  int64_t systemTime(size_t s);

  Report snapshot(size_t s) const;
  void poll(size_t s) { inbox_.push_back(snapshot(s)); }
  void deliver(size_t index, bool keep_copy);
  void planPushes(const std::vector<ActorId>& systems);
  void executePush(size_t index, bool allow_faults);
  MergeContext ctx();

  std::mt19937_64 rng_;
  SimFaults faults_;
  int64_t now_ = 1'700'000'000'000;
  std::array<int64_t, kSystems> skew_{0, 0, 10 * 60 * 1000};  // fin's clock is 10 minutes fast
  std::array<SystemRecord, kSystems> systems_;
  std::vector<Edit> edits_;
  std::vector<Report> inbox_;
  std::vector<PushJob> jobs_;

  // The agent.
  EntityPolicy policy_;
  std::vector<SystemSpec> specs_;
  ActorClock clock_;
  uint64_t conflict_seq_ = 0;
  RecordState state_;
  std::map<uint64_t, ConflictEntry> log_;
};

}  // namespace tandem::conflict::testing
