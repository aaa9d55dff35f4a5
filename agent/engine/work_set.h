#pragma once

// The in-memory working set of one engine call: records and shadows loaded from one snapshot,
// merged in place, then written as one batch with the pushes they need, the conflicts they
// produced, the links they gained, the clock and the conflict sequence. Internal to engine/.

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/engine/engine.h"

namespace tandem::engine {

// last_error of a create handed to a pusher and not answered yet.
inline constexpr const char* kCreateSent = "create sent, outcome unknown";
// How long a handed-out create is not handed out again while its answer is awaited.
inline constexpr int64_t kCreateLeaseMs = 30'000;
// An ingest hands creates to a system's next refill only when that system's refills came within
// this of each other (a third of the lease: the handed ones are taken long before it ends).
inline constexpr int64_t kHandOutRefillWithinMs = kCreateLeaseMs / 3;

// The push that brings `system` to the record: a create (whole body) while the system holds no
// linked copy, otherwise planPush() against its shadow.
conflict::PushPlan planFor(const conflict::Record& record,
                           const std::optional<conflict::Shadow>& shadow,
                           const conflict::SystemSpec& spec, bool linked);
state::PushKind kindOf(const conflict::PushPlan& plan, const EntityConfig& entity, bool linked);
const conflict::SystemSpec* specOf(const EntityConfig& entity, ActorId system);

// For a job whose plan is made: the canonical record's values the plan does not carry and, for
// a create, its match-key fields (PushJob::other_values, PushJob::match_fields). The values are
// moved out of an rvalue.
void addRecordFields(PushJob& job, const conflict::Record& record, const EntityConfig& entity);
void addRecordFields(PushJob& job, conflict::Record&& record, const EntityConfig& entity);

// Creates an ingest hands straight to the systems' pushers (SyncEngine::duePushes), so the
// refill neither reads the record again nor writes their mark as sent: the ingest's own batch
// marks them.
struct HandOut {
  std::map<ActorId, size_t> room;  // how many more each system's pusher takes
  std::vector<std::pair<ActorId, HandedCreate>> jobs;
};

class WorkSet {
 public:
  WorkSet(const state::Snapshot& snap, const EntityConfig& entity, ActorId agent, int64_t now_ms);

  Status begin();  // loads the clock and the conflict sequence
  conflict::MergeContext context();

  // The record's state, loaded once; a missing record is created when `create` is set.
  Result<conflict::RecordState*> load(const RecordId& id, bool create);
  // The record with one system's shadow only, for a push answer that changes nothing but that
  // shadow (a success): finish() weighs and writes that system alone, the other systems'
  // shadows and needs being what they were. A later load() of the record completes it.
  Result<conflict::RecordState*> loadFor(const RecordId& id, ActorId system);
  bool isNew(const RecordId& id) const { return created_.count(id) != 0; }
  void touch(const RecordId& id) { touched_[id] = true; }
  // Only the loaded shadows changed (a push answer): finish() weighs and writes them, and
  // leaves the record as stored unless touch() says otherwise.
  void touchShadows(const RecordId& id) { touched_.try_emplace(id, false); }

  // For a report that may only refresh what its system last showed (conflict::
  // reportOnlyRefreshes): that system's shadow alone, without the record and the other
  // systems' shadows. nullptr when the record is loaded whole here (the report merges into
  // that) or the system holds no shadow of it. load() takes a lone shadow over, changes and all.
  Result<conflict::Shadow*> loneShadow(ActorId system, const RecordId& id);
  // The lone shadow changed: finish() writes it.
  void touchLone(ActorId system, const RecordId& id) { lone_.at({system, id}).dirty = true; }

  // Links: batch-local first, then the snapshot.
  Result<std::optional<RecordId>> linkedRecord(ActorId system, const std::string& native);
  Result<std::optional<std::string>> nativeId(const RecordId& id, ActorId system);
  void addLink(ActorId system, const std::string& native, const RecordId& id);
  void removeLink(ActorId system, const std::string& native);

  // Folds a merge's conflicts: new entries kept, amendments applied to stored or new ones.
  Result<size_t> foldConflicts(conflict::MergeResult& result);
  void putConflict(conflict::ConflictEntry entry);
  // The stored outbox entry of (system, record) is removed by this batch: finish() queues a
  // fresh one when the system still lacks something.
  void dropOutbox(ActorId system, const RecordId& id) { dropped_[{system, id}] = true; }

  // Creates of records new in this batch, up to `out->room` per system, are handed out through
  // `out` instead of waiting in the outbox for a refill (see HandOut).
  void handOut(HandOut* out) { hand_out_ = out; }

  // Queues pushes for every touched record whose systems lack something (pending writes
  // recorded in the shadows), then writes records, shadows, links, conflicts, clock and seq.
  // The states are moved into the batch: the WorkSet is spent afterwards.
  Result<size_t> finish(state::Batch& batch);

 private:
  const state::Snapshot& snap_;
  const EntityConfig& entity_;
  ActorId agent_;
  int64_t now_ms_;
  conflict::ActorClock clock_;
  uint64_t seq_ = 0;
  std::map<RecordId, conflict::RecordState> states_;
  std::map<RecordId, bool> created_;
  std::map<RecordId, bool> touched_;  // true: the record itself changed too
  std::map<std::pair<ActorId, std::string>, std::optional<RecordId>> links_;  // nullopt: removed
  std::map<std::pair<ActorId, RecordId>, std::string> natives_;
  std::map<uint64_t, conflict::ConflictEntry> conflicts_;
  std::map<std::pair<ActorId, RecordId>, bool> dropped_;
  struct Lone {
    conflict::Shadow shadow;
    bool dirty = false;
  };
  std::map<std::pair<ActorId, RecordId>, Lone> lone_;
  std::map<RecordId, ActorId> partial_;  // loaded by loadFor: the one system whose shadow is in
  HandOut* hand_out_ = nullptr;

  // Reads a record not loaded yet with every system's shadow, or `only` that system's (then it
  // is partial); a missing record is created when `create` is set.
  Result<conflict::RecordState*> read(const RecordId& id, bool create, std::optional<ActorId> only);
  // The stored shadow of (system, id), or the lone one loaded before (taken over).
  // Moves a shadow held apart (lone_) for the record into `st`, if there is one.
  void takeLone(conflict::RecordState& st, ActorId system, const RecordId& id);
  // Whether finish() weighs and writes `system` for the record.
  bool holds(const RecordId& id, ActorId system) const;
};

}  // namespace tandem::engine
