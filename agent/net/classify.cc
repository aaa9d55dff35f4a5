#include "agent/net/classify.h"

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include "agent/sync/retry_after.h"

namespace tandem::agent::net {
namespace {

// The string at `pointer` in a JSON body, if the body is JSON and the value is a string.
std::optional<std::string> jsonString(const std::string& body, const std::string& pointer) {
  if (pointer.empty()) {
    return std::nullopt;
  }
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError()) {
    return std::nullopt;
  }
  const rapidjson::Pointer ptr(pointer.c_str());
  if (!ptr.IsValid()) {
    return std::nullopt;
  }
  const rapidjson::Value* value = ptr.Get(doc);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (value->IsString()) {
    return std::string(value->GetString(), value->GetStringLength());
  }
  if (value->IsInt64()) {
    return std::to_string(value->GetInt64());
  }
  return std::nullopt;
}

std::string errorText(const HttpResponse& response, const ClassifyRules& rules) {
  if (auto text = jsonString(response.body, rules.errorTextPointer)) {
    return *text;
  }
  constexpr size_t kMax = 200;
  if (response.body.size() > kMax) {
    return response.body.substr(0, kMax) + "...";
  }
  return response.body;
}

}  // namespace

const char* toString(Outcome outcome) {
  switch (outcome) {
    case Outcome::kSuccess:
      return "success";
    case Outcome::kRetryable:
      return "retryable";
    case Outcome::kStaleToken:
      return "stale-token";
    case Outcome::kPermanent:
      return "permanent";
  }
  return "?";
}

Classification classifyResponse(const HttpResponse& response, const ClassifyRules& rules,
                                int64_t nowMs) {
  Classification out;
  const int status = response.status;
  if (status >= 200 && status < 300) {
    return out;
  }
  const std::string text = errorText(response, rules);
  out.reason = "HTTP " + std::to_string(status) + (text.empty() ? "" : ": " + text);
  for (const auto& rule : rules.staleToken) {
    if (rule.status != status) {
      continue;
    }
    if (rule.errorCodePointer.empty()) {
      out.outcome = Outcome::kStaleToken;
      return out;
    }
    const auto code = jsonString(response.body, rule.errorCodePointer);
    for (const auto& expected : rule.errorCodes) {
      if (code && *code == expected) {
        out.outcome = Outcome::kStaleToken;
        return out;
      }
    }
  }
  if (status == 429 || status == 408 || status >= 500) {
    out.outcome = Outcome::kRetryable;
    if (const auto header = response.header("Retry-After"); !header.empty()) {
      if (auto ms = sync::parseRetryAfterMs(header, nowMs)) {
        out.retryAfterMs = *ms;
      }
    }
    return out;
  }
  out.outcome = Outcome::kPermanent;
  return out;
}

Classification classifyFailure(const HttpError& error) {
  Classification out;
  out.reason = error.message;
  switch (error.kind) {
    case HttpFailure::kConnect:
    case HttpFailure::kTimeout:
    case HttpFailure::kConnection:
    case HttpFailure::kProtocol:
      out.outcome = Outcome::kRetryable;
      break;
    case HttpFailure::kTls:  // a failed verification does not fix itself; a config change does
    case HttpFailure::kInvalidRequest:
    case HttpFailure::kBodyLimit:
    case HttpFailure::kCancelled:
    case HttpFailure::kNone:
      out.outcome = Outcome::kPermanent;
      break;
  }
  return out;
}

}  // namespace tandem::agent::net
