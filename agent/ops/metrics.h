#pragma once

// Prometheus text exposition format 0.0.4 of the agent's status (STYLE.md item 16): HELP and TYPE
// lines for every family, label values escaped, the HTTP latency as a histogram with cumulative
// `le` buckets up to +Inf.

#include <string>
#include <string_view>

#include "agent/runtime/agent.h"

namespace tandem::agent::ops {

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string renderMetrics(const runtime::AgentStatus& status);

// `a\b"c<newline>` → `a\\b\"c\n` (label values); HELP text escapes only `\` and newline.
std::string escapeLabelValue(std::string_view value);

}  // namespace tandem::agent::ops
