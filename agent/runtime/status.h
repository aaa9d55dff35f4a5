#pragma once

// status(): the counters of core.h's Stats plus gauges read from the store.

#include "agent/runtime/core.h"

namespace tandem::agent::runtime::detail {

AgentStatus buildStatus(Core& core);

}  // namespace tandem::agent::runtime::detail
