#pragma once

// The change detector of one (system, entity): polls the feed from the stored cursor every
// agent.poll_interval_ms (at once when woken), maps each record and ingests each batch in one
// engine call, looping while the feed says more. Runs on its system's strand.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/runtime/core.h"
#include "agent/runtime/failure_log.h"
#include "agent/runtime/progress.h"

namespace tandem::agent::runtime::detail {

// What fetchAndIngest() found.
struct FetchOutcome {
  size_t asked = 0;     // distinct ids fetched
  size_t returned = 0;  // records the system returned (ingested like any read)
  size_t gone = 0;      // linked records it no longer returns, reported deleted
  size_t failed = 0;    // gets that failed (logged)
  // Ids whose get failed, or whose records the ingest could not take: to be read again.
  std::vector<std::string> failed_ids;
  size_t dropped = 0;    // answers the caller's `still_valid` refused (not ingested)
  bool ingested = true;  // false: the ingest failed (logged)
};

class Detector {
 public:
  Detector(Core& core, SystemRuntime& sys, EntityRuntime& ent);

  // The loop; returns when the agent stops or the system is retired.
  asio::awaitable<void> run(std::shared_ptr<SystemRuntime> keep);
  // On the strand: returns once a whole pass that started after this call has ended (a pusher's
  // read-back before it repeats a create whose answer was lost); true when that pass read the
  // feed to its end.
  asio::awaitable<bool> pollNow();
  // On the strand: fetch the records a webhook named and ingest them.
  asio::awaitable<void> fetchIds(std::shared_ptr<SystemRuntime> keep, std::vector<std::string> ids);
  // On the strand: these records are fetched (get) and ingested at the start of the next pass,
  // which starts now; one whose get fails stays for the pass after.
  void readAgain(const std::vector<std::string>& ids);
  // On the strand: get each id and ingest what comes back in one engine call; a linked record the
  // system no longer returns is reported deleted and the entity's delete policy settles it
  // (case 16). Serves webhooks and the existence check; `why` starts its log lines. When given,
  // `still_valid(native id)` is asked once every get has answered, right before the ingest: an
  // answer it refuses is dropped (one a push may have overtaken).
  asio::awaitable<FetchOutcome> fetchAndIngest(
      std::vector<std::string> ids, std::string why,
      std::function<bool(const std::string&)> still_valid = nullptr);
  // Any thread: start the next pass now (`keep` is this detector's system).
  void wake(std::shared_ptr<SystemRuntime> keep);
  // On the strand.
  void wakeHere();

 private:
  asio::awaitable<bool> pass();  // true: the feed was read to its end
  void fail(const std::string& what, const std::string& error);
  void logPage(const connector::FeedBatch& batch);  // at debug level

  Core& core_;
  SystemRuntime& sys_;
  EntityRuntime& ent_;
  asio::steady_timer sleep_;
  Signal pass_done_;
  bool woken_ = false;
  bool in_pass_ = false;
  bool exited_ = false;
  uint64_t passes_ = 0;
  bool last_pass_ok_ = false;
  RepeatedFailures failures_;  // how fail() logs (see failure_log.h)
  std::set<std::string> read_again_;
};

}  // namespace tandem::agent::runtime::detail
