#include "agent/sync/retry_after.h"

#include <charconv>
#include <ctime>
#include <string>

namespace tandem::agent::sync {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::optional<int64_t> parseHttpDateMs(std::string_view value) {
  const std::string copy(trim(value));
  // IMF-fixdate, RFC 850, asctime (RFC 9110 section 5.6.7). strptime is locale-bound; the
  // daemon runs in the C locale.
  for (const char* format :
       {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"}) {
    std::tm tm{};
    const char* end = ::strptime(copy.c_str(), format, &tm);
    if (end != nullptr && *end == '\0') {
      return static_cast<int64_t>(::timegm(&tm)) * 1000;
    }
  }
  return std::nullopt;
}

Result<int64_t> parseRetryAfterMs(std::string_view value, int64_t nowMs) {
  const std::string_view text = trim(value);
  const auto error = [&] {
    return fail("Retry-After \"" + std::string(value) +
                "\": expected delay-seconds or an HTTP-date");
  };
  if (text.empty()) {
    return error();
  }
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    int64_t seconds = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc() || ptr != text.data() + text.size() || seconds > 10'000'000'000) {
      return fail("Retry-After \"" + std::string(value) + "\": delay out of range");
    }
    return seconds * 1000;
  }
  if (const auto atMs = parseHttpDateMs(text)) {
    return *atMs > nowMs ? *atMs - nowMs : 0;
  }
  return error();
}

}  // namespace tandem::agent::sync
