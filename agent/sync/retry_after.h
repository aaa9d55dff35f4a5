#pragma once

// Retry-After (RFC 9110 section 10.2.3): delay-seconds or an HTTP-date (IMF-fixdate, and the
// obsolete RFC 850 and asctime forms that recipients must accept). Dates in the past mean 0.

#include <cstdint>
#include <string_view>

#include "conflict/result.h"

namespace tandem::agent::sync {

// Milliseconds to wait from `nowMs` (Unix ms). Error:
//   Retry-After "soon": expected delay-seconds or an HTTP-date
Result<int64_t> parseRetryAfterMs(std::string_view value, int64_t nowMs);

}  // namespace tandem::agent::sync
