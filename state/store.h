#pragma once

// tandem's sync state in LMDB (DESIGN.md "State in LMDB"). The public face of state/.
//
//   TANDEM_ASSIGN_OR_RETURN(auto store, state::Store::open(dir, {}));
//   // Per detector batch: read in one snapshot, merge in memory, write once.
//   { TANDEM_ASSIGN_OR_RETURN(auto snap, store->read());
//     TANDEM_ASSIGN_OR_RETURN(auto rec, snap.record("r-1")); ... }   // end the snapshot first
//   state::Batch b; b.records.push_back(...); b.outbox.push_back(...); b.cursors.push_back(...);
//   TANDEM_ASSIGN_OR_RETURN(auto applied, store->apply(b));  // all or nothing
//   // Pusher: snap.dueOutbox(now, 100, crm) -> push -> apply a small batch: shadow put +
//   // outbox removal, or the entry again with attempts+1 / last_error / later due, or a
//   // dead letter + outbox removal.
//
// Threads: any number of Snapshots may be read concurrently (each is used by one thread at
// a time); apply() is serialised by a mutex and is meant to be called from the agent's one
// writer strand. The map grows when full (abort, double, retry). LMDB allows a resize only
// while this process has no transaction open, so growth holds new snapshots back and waits up
// to Options::grow_wait for the open ones to end; a snapshot held across apply() by the
// calling thread itself can never end, so apply() then fails with an error saying so. Keep
// snapshots short and never hold one across apply().

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "conflict/record.h"
#include "conflict/result.h"
#include "conflict/version_vector.h"
#include "state/entries.h"

namespace tandem::state {

namespace lmdb {
class Env;
class ReadTxn;
}  // namespace lmdb
struct Tables;
class StoredNames;

inline constexpr uint32_t kSchemaVersion = 5;

// Deferred suits commits whose loss on a power failure costs only work done again: a detector
// batch (its cursor is lost with it, so the feed is read again) or push answers (a create whose
// answer is lost is read back by its key). A commit that must be on disk before an effect
// outside (a create marked as sent before it is sent) is Sync.
enum class Durability { Sync, Deferred };

// The longest a deferred commit waits for a durable one.
inline constexpr int64_t kMaxDeferMs = 1000;

struct Options {
  size_t initial_map_bytes = 64 << 20;
  // The map never grows past this; a batch that would need more fails (as a full disk does).
  size_t max_map_bytes = size_t{1} << 40;
  bool sync = true;  // fsync on commit (production); false only for tests and tools
  // How long growth waits for open snapshots to end before failing the batch.
  std::chrono::milliseconds grow_wait{2000};
};

struct ShadowPut {
  ActorId system = 0;
  RecordId record;
  conflict::Shadow shadow;
};

// A record with the shadows asked for (the others nullopt), read together.
struct RecordRow {
  conflict::Record record;
  std::array<std::optional<conflict::Shadow>, conflict::kMaxActors> shadows;
};

struct SystemRecord {  // key of an outbox entry or a dead letter
  ActorId system = 0;
  RecordId record;
};

struct CursorPut {
  ActorId system = 0;
  std::string entity;
  std::string bytes;  // opaque to the store
};

// Everything one write transaction changes. Applied in the order of the members below.
struct Batch {
  std::vector<std::pair<std::string, ActorId>> actors;  // registry: name <-> id, never rebound
  std::vector<RecordId> record_removals;                // e.g. a collected tombstone
  std::vector<conflict::Record> records;
  std::vector<SystemRecord> shadow_removals;
  std::vector<ShadowPut> shadows;
  std::vector<Link> link_removals;  // by (system, native id), both directions; record ignored
  std::vector<Link> links;  // replaces any older link of that (system, native) or (record, system)
  std::vector<MatchKey> match_key_removals;
  std::vector<MatchKey> match_keys;
  std::vector<SystemRecord> outbox_removals;
  std::vector<OutboxEntry> outbox;  // replaces the entry of the same (system, record)
  std::vector<conflict::ConflictEntry> conflicts;  // id 0: new, id assigned; else an update
  std::vector<SystemRecord> dead_letter_removals;
  std::vector<DeadLetter> dead_letters;
  std::vector<CursorPut> cursors;
  // Small named facts of the caller's (e.g. the engine's "placed/customer/3"), kept apart from
  // the store's own meta keys; nullopt removes the key.
  std::vector<std::pair<std::string, std::optional<std::string>>> notes;
  std::optional<conflict::ActorClock> clock;  // stored whole when set
  // The last conflict id the merge core handed out (MergeContext::conflict_seq), stored with
  // the clock so that entries the merge numbered (and amendments naming them) are accepted.
  std::optional<uint64_t> conflict_seq;

  bool empty() const;
};

struct Applied {
  std::vector<uint64_t> conflict_ids;  // one per Batch::conflicts, in order
};

// A consistent read-only view (one LMDB read transaction). Move-only; end it soon.
class Snapshot {
 public:
  Snapshot(Snapshot&&) noexcept;
  Snapshot& operator=(Snapshot&&) noexcept;
  ~Snapshot();

  Result<std::optional<conflict::Record>> record(std::string_view id) const;
  Result<std::optional<conflict::Shadow>> shadow(ActorId system, std::string_view id) const;
  // The record and the shadows of `systems` (bit s: system s) in one read and one decode of the
  // record, which reading a shadow needs anyway (state/row.h).
  Result<std::optional<RecordRow>> row(std::string_view id, uint32_t systems = ~0u) const;
  Result<std::optional<RecordId>> linkedRecord(ActorId system, std::string_view native_id) const;
  Result<std::optional<std::string>> nativeId(std::string_view id, ActorId system) const;
  // Links of one system in native id order, starting after `after_native` ("" = from the start).
  Result<std::vector<Link>> links(ActorId system, std::string_view after_native,
                                  size_t limit) const;
  Result<std::optional<RecordId>> match(std::string_view entity, std::string_view key,
                                        std::string_view value) const;
  Result<std::optional<std::string>> cursor(ActorId system, std::string_view entity) const;

  Result<std::optional<OutboxEntry>> outboxEntry(ActorId system, std::string_view id) const;
  // Entries due at or before `now_ms`, oldest first; of one system when given (other
  // systems' entries are skipped by seeking, one seek per distinct due time).
  Result<std::vector<OutboxEntry>> dueOutbox(int64_t now_ms, size_t limit,
                                             std::optional<ActorId> system = {}) const;
  Result<size_t> outboxSize() const;

  Result<std::optional<conflict::ConflictEntry>> conflict(uint64_t id) const;
  // Conflicts with id >= from_id in id (= creation time) order.
  Result<std::vector<conflict::ConflictEntry>> conflicts(uint64_t from_id, size_t limit) const;
  Result<std::vector<conflict::ConflictEntry>> openConflicts(size_t limit) const;
  Result<std::vector<conflict::ConflictEntry>> conflictsOfRecord(std::string_view id) const;

  Result<std::optional<DeadLetter>> deadLetter(ActorId system, std::string_view id) const;
  Result<std::vector<DeadLetter>> deadLetters(std::optional<ActorId> system, size_t limit) const;

  Result<conflict::ActorClock> clock() const;
  // The last conflict id handed out (0 when none): seeds MergeContext::conflict_seq.
  Result<uint64_t> conflictSeq() const;
  Result<std::vector<std::pair<std::string, ActorId>>> actors() const;  // by id
  Result<uint64_t> recordCount() const;
  // Up to `limit` record ids after `after` ("" = from the first), in key order: a full walk
  // pages with the last id returned.
  Result<std::vector<RecordId>> recordIds(std::string_view after, size_t limit) const;
  Result<std::optional<std::string>> note(std::string_view key) const;

 private:
  friend class Store;
  Snapshot(std::unique_ptr<lmdb::ReadTxn> txn, const Tables* tables, StoredNames* names);

  std::unique_ptr<lmdb::ReadTxn> txn_;
  const Tables* tables_;
  StoredNames* names_;
};

class Store {
 public:
  // Opens the store in `dir` (created when missing), initialising a fresh one and migrating
  // an older schema; refuses a newer schema version.
  static Result<std::unique_ptr<Store>> open(const std::string& dir, const Options& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  Result<Snapshot> read() const;
  // Applies the whole batch in one write transaction, or nothing of it. Durable (fsync'd, with
  // every deferred commit before it) when it returns, unless `durability` is Deferred: then the
  // commit is as safe against a crash of this process (the OS holds it) but not yet against a
  // power loss, until the next durable commit, flush(), or the store's flusher thread makes it
  // durable (within kMaxDeferMs; it fsyncs beside the writers, so no commit waits for it).
  Result<Applied> apply(const Batch& batch, Durability durability = Durability::Sync);
  // Makes every deferred commit durable.
  Status flush();
  // Calls `done` once every commit made before this call is durable: at once (on this thread)
  // when none is waiting for an fsync, else on the flusher thread right after the fsync that
  // covers them (one fsync for all who wait meanwhile; writers go on during it). `done` gets
  // the fsync's error when it failed. For a commit that must be on disk before an effect
  // outside, without holding the writer for the fsync: apply Deferred, then wait here.
  void whenDurable(std::function<void(Status)> done);
  // Whether some deferred commit is not yet known to be durable.
  bool awaitingFlush();

  size_t mapBytes() const;
  const std::string& dir() const { return dir_; }
  // A consistent copy of the whole store into the existing, empty directory `dir` while it stays
  // in use (`tandem plan` works on such a copy). Error: "state: <dir>: copy to <dir>: <reason>".
  Status copyTo(const std::string& dir) const;

 private:
  Store(std::string dir, const Options& options);
  Status grow(const Error& cause);

  std::string dir_;
  Options options_;
  std::unique_ptr<lmdb::Env> env_;
  std::unique_ptr<Tables> tables_;
  std::unique_ptr<StoredNames> names_;
  void flushLoop();
  // Marks the deferred commits made before a flush that started at `started` (generation `gen`)
  // as durable. Under defer_mu_.
  void flushed(uint64_t gen, std::chrono::steady_clock::time_point started);
  // Calls (outside the lock) the waiters the flushes so far covered, or, when `synced` holds
  // an fsync's error, all of them with it.
  void releaseDurable(std::unique_lock<std::mutex>& lock, const Status& synced);

  std::mutex write_mu_;
  // Under defer_mu_: when the oldest commit not yet fsync'd was made (none: all durable), and
  // a count of deferred commits (a flush covers those counted when it started).
  std::mutex defer_mu_;
  std::condition_variable defer_cv_;
  std::optional<std::chrono::steady_clock::time_point> deferred_since_;
  uint64_t deferred_gen_ = 0;
  uint64_t durable_gen_ = 0;  // deferred commits up to this count are known durable
  bool stopping_ = false;
  // Under defer_mu_: who waits for durability (whenDurable), with the generation they need.
  std::vector<std::pair<uint64_t, std::function<void(Status)>>> durable_waiters_;
  std::thread flusher_;
};

}  // namespace tandem::state
