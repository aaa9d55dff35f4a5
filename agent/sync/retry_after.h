#pragma once

// Retry-After (RFC 9110 section 10.2.3): delay-seconds or an HTTP-date (IMF-fixdate, and the
// obsolete RFC 850 and asctime forms that recipients must accept). Dates in the past mean 0.

#include <cstdint>
#include <optional>
#include <string_view>

#include "conflict/result.h"

namespace tandem::agent::sync {

// Milliseconds to wait from `nowMs` (Unix ms). Error:
//   Retry-After "soon": expected delay-seconds or an HTTP-date
Result<int64_t> parseRetryAfterMs(std::string_view value, int64_t nowMs);

// An HTTP-date (IMF-fixdate, RFC 850 or asctime; whole seconds) as Unix ms; nullopt when the
// text is none of them. For the Date header of an answer: the system's own clock.
std::optional<int64_t> parseHttpDateMs(std::string_view value);

}  // namespace tandem::agent::sync
