#pragma once

// The value transforms of the mapping engine, each pure and exact: decimal numbers from text,
// date-time forms to and from canonical epoch milliseconds UTC, string normalisation.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mappers/mapping_spec.h"

namespace tandem::mappers {

// Decimal text ("2500.50", "-1e3") → the nearest double. No leading '+', no spaces, no
// hex, no "nan"/"inf"; out of range is refused.
std::optional<double> parseDecimal(std::string_view s);
std::optional<int64_t> parseInteger(std::string_view s);
// Shortest text that reads back to the same double, or fixed `decimals` when >= 0.
std::string formatNumber(double d, int decimals = -1);

// Date-time text in a string form (rfc3339, rfc3339_offset, naive_utc, naive_utc_seconds)
// → epoch ms UTC. RFC 3339 forms need a zone (Z, +hh:mm or +hhmm) and read any offset; naive
// forms take "YYYY-MM-DD HH:MM:SS[.fff]" (or 'T' as separator) and no zone.
std::optional<int64_t> parseTime(std::string_view s, TimeFormat f);
// Epoch ms → text; for epoch forms, the decimal integer.
std::string formatTime(int64_t ms, TimeFormat f);
bool isEpochFormat(TimeFormat f);

// Trim, collapse inner whitespace runs to one space, fold case (ASCII).
void normalizeString(std::string& s, const Normalize& n);

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d);

}  // namespace tandem::mappers
