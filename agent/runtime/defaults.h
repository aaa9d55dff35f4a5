#pragma once

// The factories used when AgentOptions leaves them empty: the declarative REST connector when it
// is built (defaults_rest.cc), else factories that fail with a clear error (defaults_none.cc), so
// the runtime links and its tests run without agent/connector.

#include "agent/runtime/agent.h"

namespace tandem::agent::runtime::detail {

ConnectorFactory defaultConnectorFactory();
ChannelFactory defaultChannelFactory();

}  // namespace tandem::agent::runtime::detail
