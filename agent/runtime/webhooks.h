#pragma once

// Webhook receivers: POST on any configured webhook path of the configuration in force (a reload
// adds and removes them without a restart).

#include <memory>

#include "agent/runtime/core.h"

namespace tandem::agent::runtime::detail {

// verify (Connector::verifyWebhook) → 401 with the reason, else 200 at once and the named
// records are fetched and ingested on the system's strand (an empty list wakes the detector).
// While the agent stops: 503.
void addWebhookRoutes(const std::shared_ptr<Core>& core, net::Router& router);

}  // namespace tandem::agent::runtime::detail
