#include "mappers/mapping_spec.h"

namespace tandem::mappers {

const char* fieldTypeName(FieldType t) {
  switch (t) {
    case FieldType::String:
      return "string";
    case FieldType::Number:
      return "number";
    case FieldType::Integer:
      return "integer";
    case FieldType::Bool:
      return "bool";
    case FieldType::DateTime:
      return "date-time";
    case FieldType::StringSet:
      return "string-set";
  }
  return "?";
}

const char* timeFormatName(TimeFormat f) {
  switch (f) {
    case TimeFormat::Rfc3339:
      return "rfc3339";
    case TimeFormat::Rfc3339Offset:
      return "rfc3339_offset";
    case TimeFormat::EpochS:
      return "epoch_s";
    case TimeFormat::EpochMs:
      return "epoch_ms";
    case TimeFormat::NaiveUtc:
      return "naive_utc";
    case TimeFormat::NaiveUtcSeconds:
      return "naive_utc_seconds";
  }
  return "?";
}

}  // namespace tandem::mappers
