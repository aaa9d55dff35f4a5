#pragma once

// The pusher of one system: takes due outbox entries from the engine, maps each to the system's
// body (mappers::toSystemDocument), sends it through the entity's connector and reports the
// outcomes back, those that arrived together in one transaction (engine.completePushes). Up to the
// system's max_in_flight requests at once; sleeps until the next entry is due or it is woken. Runs
// on its system's strand, so a system that is down only slows its own pusher.
//
// Sending never waits for a commit: due entries are taken a few rounds ahead (one transaction marks
// their creates as sent), and answers are recorded by a second coroutine while the next requests
// go out. Each commit then covers many pushes instead of one round's.

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <variant>
#include <vector>

#include "agent/runtime/core.h"
#include "agent/runtime/failure_log.h"

namespace tandem::agent::runtime::detail {

class Pusher {
 public:
  Pusher(Core& core, SystemRuntime& sys);

  asio::awaitable<void> run(std::shared_ptr<SystemRuntime> keep);
  // Any thread (`keep` is this pusher's system).
  void wake(std::shared_ptr<SystemRuntime> keep);
  void wakeHere();
  size_t inFlight() const { return in_flight_.size(); }
  // How many due entries are taken ahead of the requests (see above).
  // `batch_limit`: the largest batch create of the system's entities (0: none).
  static size_t prefetch(size_t max_in_flight, size_t batch_limit);
  // On the strand: a push of `record` is queued or in flight.
  bool busy(const std::string& record) const;

 private:
  // The records of the queued jobs, for lookups while the queue is walked or filled.
  std::unordered_set<std::string_view> queuedRecords() const;
  asio::awaitable<void> send(std::shared_ptr<SystemRuntime> keep, engine::PushJob job);
  // Creates of one entity that go in one request of its batch create endpoint: `first` and
  // queued ones (taken out of queue_ and marked in flight); empty when `first` goes alone.
  std::vector<engine::PushJob> takeBatch(const std::shared_ptr<SystemRuntime>& keep,
                                         engine::PushJob& first);
  // One request for all; when the system refuses it as a whole, one request each.
  asio::awaitable<void> sendBatch(std::shared_ptr<SystemRuntime> keep,
                                  std::vector<engine::PushJob> jobs);
  // sendBatch's requests: the outcome of each job (a refused body's included).
  asio::awaitable<void> batchOutcomes(EntityRuntime& ent, const std::vector<engine::PushJob>& jobs,
                                      std::vector<std::optional<engine::PushOutcome>>& outcomes);
  // Counts and logs an answer and keeps it for record().
  void answered(engine::PushJob job, engine::PushOutcome outcome);
  // Records the answers in done_ (engine.completePushes, one transaction), runs their follow-ups
  // and releases their records (in_flight_, the system's loop count); repeats while answers
  // arrived meanwhile. At most one runs at a time (recording_).
  asio::awaitable<void> record(std::shared_ptr<SystemRuntime> keep);
  // Takes up to `want` due entries from the engine into queue_; wakes the loop when it queued
  // some and `wake` (it ran beside the loop). At most one at a time (refilling_).
  asio::awaitable<void> refill(std::shared_ptr<SystemRuntime> keep, size_t want, bool wake);
  // The outcome of the push, or none when it was not sent because reading the record first
  // changed what is to be written (the outbox entry is re-planned on the next round).
  asio::awaitable<std::optional<engine::PushOutcome>> perform(EntityRuntime& ent,
                                                              const engine::PushJob& job);
  // perform(), with an exception out of it (a bug met by this record's body or answer) taken as
  // a retryable failure of this push: its slot and its record are freed as for any answer.
  asio::awaitable<std::optional<engine::PushOutcome>> performGuarded(EntityRuntime& ent,
                                                                     const engine::PushJob& job);
  // Before a blind update (a system without a version token): reads the record and ingests it,
  // so an edit its feed has not shown yet is merged instead of overwritten (CONVERGENCE.md case
  // 6). None: send as planned; an outcome: complete the push with it (read failed, not found);
  // Replanned: the ingest changed the record, do not send this job.
  struct Replanned {};
  asio::awaitable<std::variant<std::monostate, Replanned, engine::PushOutcome>> readBeforeWrite(
      EntityRuntime& ent, const engine::PushJob& job);
  Result<mappers::CanonicalValues> valuesFor(const engine::PushJob& job);
  // The create body of a job, or the outcome that stops it (values unreadable: retryable; the
  // mapping refuses them: permanent). One piece for single and batch creates.
  std::variant<mappers::SystemBody, engine::PushOutcome> createBody(EntityRuntime& ent,
                                                                    const engine::PushJob& job);
  asio::awaitable<void> reread(EntityRuntime& ent, const engine::PushJob& job);
  // get() the record and ingest it as this system's report; none when the system answers that
  // it does not have it.
  asio::awaitable<Result<std::optional<engine::IngestResult>>> readAndIngest(
      EntityRuntime& ent, const std::string& native_id);
  // A write of the store failed (logged as failure_log.h says), or one went through.
  void storeFailed(std::string_view what, std::string_view error, std::string_view record = {});
  void storeWrote();
  // Milliseconds until the next outbox entry of this system that is not in flight is due.
  std::optional<int64_t> nextDueIn();

  Core& core_;
  SystemRuntime& sys_;
  asio::steady_timer sleep_;
  // Records sent and not yet recorded (their answer may have arrived): no second push of one
  // starts before the first is recorded.
  std::set<std::string> in_flight_;
  size_t sending_ = 0;  // requests without an answer yet (at most max_in_flight)
  bool recording_ = false;
  bool refilling_ = false;
  // Records whose push record() took in while a refill ran, with the writer's sequence number
  // of that commit (Core::nextWriterSeq): the refill's job for one recorded after its own
  // duePushes was planned before that answer (stale) and waits for the next refill.
  std::map<std::string, uint64_t, std::less<>> recorded_while_refilling_;
  RepeatedFailures failures_;  // how retryable push failures are logged (failure_log.h)
  // How the store's failures to take a refill or an answer are logged (a full disk fails all).
  RepeatedFailures store_failures_;
  bool refill_failed_ = false;  // the last refill failed: the next waits a poll interval
  std::set<std::string> held_;  // due creates held until their feed was read
  std::deque<engine::PushJob> queue_;
  std::vector<engine::Completion> done_;  // answered pushes not recorded yet
  bool woken_ = false;
};

}  // namespace tandem::agent::runtime::detail
