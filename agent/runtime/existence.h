#pragma once

// The periodic existence check of one (system, entity) (CONVERGENCE.md case 16): a record
// hard-deleted where the feed shows nothing (Odoo-, QuickBooks-like) or archived where only a
// webhook would say so (HubSpot's search leaves archived contacts out) is otherwise noticed only
// when a later push answers "not found". Every configured interval (mappers::ExistenceCheck) it
// walks the links of the system in native id order, page by page from the store, and fetches the
// live records of the entity in small chunks through Detector::fetchAndIngest, the webhooks' get
// path: a linked record the system no longer returns is reported deleted and the entity's delete
// policy settles it; a record that is returned is ingested like any read (unchanged: an echo).
//
// Pace: at most max_per_s records a second, a chunk at a time, each get through the system's rate
// limiter and breaker like every request; it sleeps between chunks (the strand serves the
// detectors, webhooks and pushes meanwhile) and stops at the next chunk on drain or reload.
// Only linked native ids are checked: a create still pending or in flight has no link yet. A
// record with a push to this system pending or in flight waits for a later round, and an answer
// is dropped when a push of its record was queued, in flight or recorded while its get was out:
// a push that overtook the get makes the answer stale, and a stale "alive" read after our own
// archive would read as an un-delete.
//
// Progress in the store's notes (see noteKeys in existence.cc): when the last full check ended
// (a restart waits out the rest of the interval; the first run with the check on counts as an
// end, so the first check comes one interval later) and, while a check is under way, the last
// native id it checked, so a restart or a failure resumes after it instead of from the start.

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/runtime/core.h"

namespace tandem::agent::runtime::detail {

class ExistenceChecker {
 public:
  ExistenceChecker(Core& core, SystemRuntime& sys, EntityRuntime& ent);

  // The loop; returns at once when the check is off, else when the agent stops or the system is
  // retired.
  asio::awaitable<void> run(std::shared_ptr<SystemRuntime> keep);
  // On the strand: ends a sleep now (the loop then sees a stop).
  void wakeHere();

 private:
  enum class Ended { Done, Failed, Stopped };
  // One check from `after` (a native id, "" = from the start) to the end of the links.
  asio::awaitable<Ended> check(std::string after, double max_per_s);
  // Sleeps `ms` (at most) on the strand; false when stopped meanwhile.
  asio::awaitable<bool> sleep(int64_t ms);
  // Writes the notes (on the writer strand); a failure is logged and returned.
  using Notes = std::vector<std::pair<std::string, std::optional<std::string>>>;
  asio::awaitable<bool> save(Notes notes);

  Core& core_;
  SystemRuntime& sys_;
  EntityRuntime& ent_;
  asio::steady_timer sleep_;
};

}  // namespace tandem::agent::runtime::detail
