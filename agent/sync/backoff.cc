#include "agent/sync/backoff.h"

#include <algorithm>

namespace tandem::agent::sync {

int64_t Backoff::ceilingMs(const BackoffPolicy& policy, int attempt) {
  const int64_t base = std::max<int64_t>(policy.baseMs, 0);
  const int64_t cap = std::max<int64_t>(policy.maxMs, 0);
  int64_t ceiling = base;
  for (int i = 0; i < attempt && ceiling < cap; ++i) {
    ceiling *= 2;  // stops doubling once past the cap, so it never overflows
  }
  return std::min(ceiling, cap);
}

int64_t Backoff::delayMs(int attempt) {
  const auto ceiling = static_cast<uint64_t>(ceilingMs(policy_, attempt));
  // Modulo keeps the sequence identical across standard libraries (distributions are not);
  // its bias is below 2^-40 for any ceiling a retry could have.
  return static_cast<int64_t>(rng_() % (ceiling + 1));
}

int64_t Backoff::delayMs(int attempt, int64_t retryAfterMs) {
  return std::max(delayMs(attempt), retryAfterMs);
}

}  // namespace tandem::agent::sync
