#pragma once

// The change detector of one (system, entity): polls the feed from the stored cursor every
// agent.poll_interval_ms (at once when woken), maps each record and ingests each batch in one
// engine call, looping while the feed says more. Runs on its system's strand.

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/runtime/core.h"
#include "agent/runtime/progress.h"

namespace tandem::agent::runtime::detail {

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
  // Any thread: start the next pass now (`keep` is this detector's system).
  void wake(std::shared_ptr<SystemRuntime> keep);
  // On the strand.
  void wakeHere();

 private:
  asio::awaitable<bool> pass();  // true: the feed was read to its end
  // Fetches and ingests the records; returns the ids whose get failed.
  asio::awaitable<std::vector<std::string>> fetchAndIngest(std::vector<std::string> ids);
  void fail(const std::string& what, const std::string& error);

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
  std::string last_failure_;  // shape of the last logged failure (see fail())
  std::set<std::string> read_again_;
};

}  // namespace tandem::agent::runtime::detail
