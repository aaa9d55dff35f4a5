#pragma once

// JSON views of what the admin API serves (and the CLI reads back): the agent's status, conflict
// entries and dead letters, with actor ids turned into system names.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/runtime/agent.h"
#include "conflict/record.h"
#include "conflict/result.h"
#include "state/entries.h"

namespace tandem::agent::ops {

// The store's actor registry (name <-> id).
class ActorNames {
 public:
  ActorNames() = default;
  explicit ActorNames(std::vector<std::pair<std::string, conflict::ActorId>> actors)
      : actors_(std::move(actors)) {}
  // "crm", or "actor 9" for an id the registry does not know.
  std::string name(conflict::ActorId id) const;
  std::optional<conflict::ActorId> id(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, conflict::ActorId>> actors_;
};

std::string statusToJson(const runtime::AgentStatus& status);
// The inverse, for `tandem status` reading the admin API. Error: "status: <what is wrong>".
Result<runtime::AgentStatus> statusFromJson(std::string_view text);

std::string conflictToJson(const conflict::ConflictEntry& entry, const ActorNames& names);
// {"conflicts":[...]} plus "next_after" when more may follow.
std::string conflictsToJson(const std::vector<conflict::ConflictEntry>& entries,
                            const ActorNames& names, std::optional<uint64_t> next_after);
std::string deadLetterToJson(const state::DeadLetter& dead, const ActorNames& names);
std::string deadLettersToJson(const std::vector<state::DeadLetter>& dead, const ActorNames& names);

// {"error":"..."} body text (for handlers that build their own response).
std::string errorJson(std::string_view message);

}  // namespace tandem::agent::ops
