#pragma once

// Parsing a record received from a system, hostile input refused cleanly: size, nesting depth
// and string length limits, UTF-8 validated, numbers out of range rejected (no NaN/Infinity).

#include <cstddef>
#include <string_view>

#include <rapidjson/document.h>

#include "conflict/result.h"

namespace tandem::mappers {

struct RecordLimits {
  size_t max_bytes = 4u << 20;
  size_t max_depth = 32;
  size_t max_string = 1u << 20;
};

// Errors: "record: nesting deeper than 32 levels at offset 31", "record: invalid UTF-8 at offset
// 12", "record: number too big at offset 9", "record: 5000000 bytes is more
// than the limit of 4194304".
Result<rapidjson::Document> parseRecord(std::string_view text, const RecordLimits& limits = {});
// The same into a caller's document (e.g. one over a stack pool: no heap chunk per record).
Status parseRecordInto(std::string_view text, rapidjson::Document& doc,
                       const RecordLimits& limits = {});

}  // namespace tandem::mappers
