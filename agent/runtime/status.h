#pragma once

// status(): the counters of core.h's Stats plus, unless asked not to, gauges read from the store
// (record count, open conflicts, outbox and dead-letter depths: a walk of those tables).

#include "agent/runtime/core.h"

namespace tandem::agent::runtime::detail {

AgentStatus buildStatus(Core& core, bool store_gauges = true);

}  // namespace tandem::agent::runtime::detail
