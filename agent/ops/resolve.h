#pragma once

// What an operator asks for when resolving a conflict (CONVERGENCE.md case 23), shared by the
// admin API and the CLI: take one side's value ("take": "crm") or give a value as JSON
// ("value": ...), typed by the canonical field it is for.

#include <optional>
#include <string>
#include <string_view>

#include "agent/ops/json_out.h"
#include "conflict/record.h"
#include "conflict/result.h"
#include "conflict/value.h"
#include "mappers/config.h"

namespace tandem::agent::ops {

struct ResolveRequest {
  std::optional<std::string> take;        // a system name
  std::optional<std::string> value_json;  // JSON text of the chosen value
  std::string note;
};

// Parses a POST /v1/conflicts/{id}/resolve body. Errors: "body: not JSON: ...",
// "body: give either \"take\" or \"value\", not both", "body.take: expected a string", ...
Result<ResolveRequest> parseResolveBody(std::string_view body);

// JSON text → a canonical value of `type`: null is always allowed (empty), integers for
// integer and date-time (epoch ms) fields, any number for number fields, an array of strings
// for string sets. Error: "value: field credit_limit is a number, got \"abc\"".
Result<conflict::Value> parseValue(std::string_view json, mappers::FieldType type,
                                   std::string_view field);

// The value the request chooses for `entry`. Errors name the conflict: "conflict 7 has no side
// from system \"erp\" (sides: crm, fin)".
Result<conflict::Value> chosenValue(const ResolveRequest& request,
                                    const conflict::ConflictEntry& entry, const ActorNames& names,
                                    const mappers::Config& config);

// POST /v1/deadletters/retry: {"system":"erp","record":"r-1"} retries one; an empty body or {}
// retries every dead letter (system and record then empty).
struct RetryRequest {
  std::string system;
  std::string record;
};
Result<RetryRequest> parseRetryBody(std::string_view body);

// The note stored with the resolution: the operator's, or what was done.
std::string resolveNote(const ResolveRequest& request, std::string_view via);

}  // namespace tandem::agent::ops
