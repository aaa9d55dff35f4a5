#pragma once

// What to do with a system's answer: success, retry later (5xx, 429, timeouts, connection
// failures), refresh the access token and retry (the system's configured "stale token" answer),
// or give up (other 4xx, carrying the system's own error text).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/net/http_client.h"
#include "agent/net/http_message.h"

namespace tandem::agent::net {

enum class Outcome { kSuccess, kRetryable, kStaleToken, kPermanent };

const char* toString(Outcome outcome);

struct StaleTokenRule {
  int status = 401;
  // JSON pointer to the error code in the body ("/category", "/error/code"); empty: any body.
  std::string errorCodePointer;
  std::vector<std::string> errorCodes;  // matched when errorCodePointer is set
};

struct ClassifyRules {
  std::vector<StaleTokenRule> staleToken{StaleTokenRule{}};
  // JSON pointer to the human-readable error text ("/message", "/error/message").
  std::string errorTextPointer = "/message";
};

struct Classification {
  Outcome outcome = Outcome::kSuccess;
  std::optional<int64_t> retryAfterMs;  // from a Retry-After header, when valid
  std::string reason;                   // "HTTP 422: email is invalid"
};

// nowMs: Unix ms, for Retry-After dates.
Classification classifyResponse(const HttpResponse& response, const ClassifyRules& rules,
                                int64_t nowMs);
Classification classifyFailure(const HttpError& error);

}  // namespace tandem::agent::net
