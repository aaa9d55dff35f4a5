#pragma once

// The sync engine: the seam between change detectors / pushers and the store (DESIGN.md "Data
// flow"). No network: detectors hand it mapped reports, pushers ask it what to send and tell it
// how the send went. Every call reads one short snapshot, computes in memory with the merge core,
// and writes one all-or-nothing batch, so a kill -9 between any two calls loses nothing
// (DESIGN.md "Crash points").
//
//   SyncEngine engine(store, clock, config);
//   engine.ingest(crm, "customer", detector_batch, cursor);      // one LMDB transaction
//   for (auto& job : *engine.duePushes(erp, 50)) {
//     PushOutcome o = send(job);                                 // the connector's request
//     engine.completePush(erp, job, o);                          // one LMDB transaction
//   }

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "agent/clock.h"
#include "conflict/merge.h"
#include "conflict/policy.h"
#include "conflict/push.h"
#include "conflict/result.h"
#include "conflict/value.h"
#include "state/store.h"

namespace tandem::engine {

using conflict::ActorId;
using conflict::RecordId;

class WorkSet;

struct EntityConfig {
  std::string name;  // "customer"
  conflict::EntityPolicy policy;
  std::vector<conflict::SystemSpec> systems;  // every system syncing this entity
  std::vector<std::string> match_keys;        // e.g. {"email"}: identity of a new record
  std::vector<ActorId> archives;              // systems whose delete is an archive
};

// Delay before retry number `attempts` (1-based); a server's Retry-After is a floor.
using BackoffFn = std::function<int64_t(uint32_t attempts, int64_t retry_after_ms)>;
int64_t defaultBackoffMs(uint32_t attempts, int64_t retry_after_ms);

struct EngineConfig {
  ActorId agent = 0;
  std::vector<EntityConfig> entities;
  BackoffFn backoff = defaultBackoffMs;
  std::optional<uint64_t> id_seed;  // record id generator seed; random when unset
};

// One record of a detector batch, already mapped to canonical fields.
struct Incoming {
  std::string native_id;
  conflict::Report report;
  // Normalised values of the entity's match keys, by key name (absent or "" = unknown).
  std::vector<std::pair<std::string, std::string>> match_values;
  // The idempotency key tandem sent with the create of this record, when the system echoes it
  // back (an external-id property): the record is then known even if the create's link was lost.
  std::string idempotency_key;
  // Read before the answer of tandem's last write to this record in the system arrived, or
  // before another read of it was taken in: it may show what that write replaced, or a version
  // older than the one already merged. Merged only when it changes nothing; otherwise the record
  // is named in IngestResult::reread, to be read again.
  bool doubtful = false;
};

struct IngestResult {
  size_t new_records = 0;
  size_t updated_records = 0;
  size_t conflicts = 0;  // new conflict entries
  size_t pushes_queued = 0;
  // Native ids of doubtful records (Incoming::doubtful) left out because they would have changed
  // the record: read them again (a read that starts now sees tandem's write and the newest
  // version).
  std::vector<std::string> reread;
};

struct PushJob {
  RecordId record;
  std::string entity;
  std::string native_id;  // empty for a create
  conflict::PushPlan plan;
  std::string idempotency_key;
  uint32_t attempts = 0;
  // A create sent before whose answer never arrived: the connector reads back by the key (or
  // sends it as a request id) instead of blindly creating again.
  bool outcome_unknown = false;
  // For a create: the canonical values of the entity's match-key fields, so the connector can
  // read back by match key (or upsert by it) and adopt a copy a person made meanwhile (case 14).
  std::vector<std::pair<std::string, conflict::Value>> match_fields;
  // The canonical record's values the plan does not carry, when the push was planned: with the
  // plan's, the whole record, which a body writing part of a join (first + last name into one
  // "name") takes the join's other fields from without reading and decoding the record again.
  // nullopt: read the record when the body is built.
  std::optional<conflict::FieldMap<conflict::Value>> other_values;
};

// A create an ingest planned and marked as sent (internal: SyncEngine::duePushes hands it out),
// with the end of the lease written in its outbox entry.
struct HandedCreate {
  PushJob job;
  int64_t lease_due_ms = 0;
};

struct PushSuccess {
  std::string native_id;  // the new id, for a create
  std::string version_token;
  int64_t source_ts_ms = 0;  // the system's updated time in the answer, 0 when none
};
struct PushRetryable {
  std::string error;
  int64_t retry_after_ms = 0;
};
struct PushStale {};  // precondition failed (412, stale object): re-read the record
struct PushPermanent {
  std::string error;  // the system's message, kept in the dead letter
};
struct PushNotFound {};  // the record is gone from the system (silent hard delete)
using PushOutcome =
    std::variant<PushSuccess, PushRetryable, PushStale, PushPermanent, PushNotFound>;

// What duePushes leaves out. A create in a system whose feed has not been read in this run could
// make a second copy of a person that system already holds (case 14: the feed would have linked
// it by match key), so the pusher holds creates per entity until that entity's feed was read to
// its end once. Held entries stay due and untouched (not marked sent); their ids go to *held.
struct DueFilter {
  std::vector<std::string> hold_creates;  // entity names
  std::vector<RecordId>* held = nullptr;
};

struct Completion {
  PushJob job;
  PushOutcome outcome;
};

enum class FollowUp : uint8_t {
  None,
  Reread,  // fetch the record from the system and ingest it; the outbox entry is kept
};

// The idempotency key of (record, system): "<record>@<system>", deterministic across restarts.
// A re-create after the system hard-deleted the record needs a key never sent before (a
// request-id cache would answer with the deleted record): "<record>@<system>.<generation>".
std::string idempotencyKey(const RecordId& record, ActorId system, uint64_t generation = 0);
std::optional<RecordId> recordOfIdempotencyKey(std::string_view key);

// Not thread-safe: call it from the agent's one writer strand (STYLE.md item 10).
class SyncEngine {
 public:
  SyncEngine(state::Store& store, agent::Clock& clock, EngineConfig config);

  // The creates of records new in this batch, up to what each system's last duePushes asked
  // for, are planned and recorded as sent here (a deferred commit) and handed to that system's
  // next duePushes, which then neither reads them again nor writes their mark.
  Result<IngestResult> ingest(ActorId system, const std::string& entity,
                              std::vector<Incoming> records, std::optional<std::string> cursor);
  // Creates among the jobs are first recorded as sent, durably before this returns; with
  // `durability` Deferred, or for the creates an ingest handed over, that commit may not be on
  // disk yet, and the caller must not send a create before Store::whenDurable says it is (the
  // writer is not held for the fsync).
  Result<std::vector<PushJob>> duePushes(ActorId system, size_t limit, const DueFilter& filter = {},
                                         state::Durability durability = state::Durability::Sync);
  Result<FollowUp> completePush(ActorId system, const PushJob& job, const PushOutcome& outcome);
  // Several answers of one system in one transaction per entity (one fsync instead of one per
  // push); the follow-ups in the order given. All or nothing: on an error none is recorded.
  Result<std::vector<FollowUp>> completePushes(ActorId system, const std::vector<Completion>& done);
  // Queues every stored live record of an entity for each system that joined the entity after
  // the record was stored (a system added to the configuration, at start or on a reload), so
  // records that never change again reach it too: creates, held by the pusher until that
  // system's feed was read (a copy it already holds is linked by match key, not duplicated).
  // Once per (entity, system), remembered in a store note; a crash midway repeats the walk, which
  // queues nothing twice. Pages of `page` records, one transaction each. Returns pushes queued.
  Result<size_t> placeExisting(size_t page = 512);
  // At start: creates an earlier run handed out and never heard back from (it crashed) are due
  // now instead of when their lease ends; the pusher reads back before sending them again.
  Result<size_t> reclaimSentCreates();
  // Creates among `jobs` (from duePushes) that were not sent after all (their mark as sent could
  // not be made durable): due now and not marked any more, as before duePushes. A create whose
  // outcome was unknown already (sent by an earlier run, or its lease ran out) keeps its mark:
  // it may exist in the system. A deferred commit: lost, the marks stay and the creates are read
  // back by key when their lease ends. Returns the entries unmarked.
  Result<size_t> unmarkUnsentCreates(ActorId system, const std::vector<PushJob>& jobs);
  // Creates ingests handed over for the next duePushes and not taken yet (see ingest): due now
  // and not marked as sent any more, as if never handed over. Before this engine is replaced
  // (a reload), so its successor's refills find them. Returns the entries unmarked.
  Result<size_t> releaseHanded();
  Status resolveConflict(uint64_t conflict_id, const conflict::Value& chosen, std::string note);
  Status retryDeadLetter(ActorId system, const RecordId& record);

  Result<std::optional<std::string>> cursor(ActorId system, const std::string& entity) const;
  const EngineConfig& config() const { return config_; }

 private:
  friend class WorkSet;
  const EntityConfig* entity(std::string_view name) const;
  RecordId freshId();
  Result<FollowUp> completeOne(WorkSet& ws, const state::Snapshot& snap, ActorId system,
                               const Completion& done, int64_t now, state::Batch& batch,
                               std::vector<RecordId>& recreated);

  state::Store& store_;
  agent::Clock& clock_;
  EngineConfig config_;
  std::mt19937_64 rng_;
  // Per system: creates ingests planned and marked as sent for its next duePushes, and how many
  // it takes (what its last duePushes asked for; none while it holds creates). In memory only:
  // lost with the process, they are due again when their lease ends, read back by key first.
  struct Handed {
    size_t room = 0;
    std::deque<HandedCreate> jobs;
    std::optional<int64_t> last_refill_ms;  // when duePushes was last asked for this system
  };
  std::map<ActorId, Handed> handed_;
  // The records of the handed creates: how many of their jobs wait, and whether a later batch
  // rewrote the record (the job is then planned again from the stored record when taken).
  struct HandedRecord {
    size_t jobs = 0;
    bool changed = false;
  };
  std::unordered_map<RecordId, HandedRecord> handed_records_;
  // store_.apply(), and the handed creates of the records the batch rewrote marked changed.
  Result<state::Applied> apply(const state::Batch& batch, state::Durability durability);
};

}  // namespace tandem::engine
