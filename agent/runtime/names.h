#pragma once

// Names the runtime shares with the CLI (agent/ops) through buildEngineConfig.

#include <string_view>

namespace tandem::agent::runtime {

// The agent's own actor in the store's registry. System names are [a-z0-9_-]+, so this one can
// never collide with a configured system.
inline constexpr std::string_view kAgentActor = "@agent";

}  // namespace tandem::agent::runtime
