// createMany: several creates in one request of the `batch.create` endpoint (mappers/CONFIG.md
// "batch"), the answer's results matched back to the records by position or by a correlating
// value. A result carrying an error (the endpoint's `error` pointer) fails that record alone:
// retryable when it names a throttle signal of the system or an HTTP status worth a retry,
// permanent otherwise.
#include <charconv>

#include <rapidjson/pointer.h>

#include "agent/connector/connector_impl.h"
#include "agent/connector/json_util.h"
#include "mappers/body_template.h"
#include "mappers/mapper.h"

namespace tandem::agent::connector {
namespace {

// Whether a result's error means "the system could not take it now": one of the system's throttle
// signals that names an error code (the pointer read in the result, as it would be in a whole
// answer), or an HTTP-like status 408, 429 or 5xx at /status or /statusCode of the result or its
// error. Throttle signals without an error code need a status a result does not have.
std::optional<int64_t> transientWait(const mappers::SystemConfig& system,
                                     const rapidjson::Value& result,
                                     const rapidjson::Value& error) {
  for (const auto& signal : system.throttle) {
    if (signal.error_code_pointer.empty()) {
      continue;
    }
    const rapidjson::Value* code = valueAt(result, signal.error_code_pointer);
    if (code != nullptr && scalarText(*code) == signal.error_code) {
      return system.default_backoff_ms;
    }
  }
  for (const rapidjson::Value* where : {&result, &error}) {
    for (const char* pointer : {"/status", "/statusCode"}) {
      const rapidjson::Value* v = valueAt(*where, pointer);
      const auto text = v == nullptr ? std::nullopt : scalarText(*v);
      int status = 0;
      if (!text || std::from_chars(text->data(), text->data() + text->size(), status).ptr !=
                       text->data() + text->size()) {
        continue;
      }
      if (status == 408 || status == 429 || (status >= 500 && status < 600)) {
        return 0;
      }
    }
  }
  return std::nullopt;
}

// A result's error as the engine's outcome, with the system's own text.
engine::PushOutcome resultFailure(const std::string& context, const mappers::SystemConfig& system,
                                  const rapidjson::Value& result, const rapidjson::Value& error) {
  std::string text = systemErrorText(result);
  if (text.empty()) {
    text = systemErrorText(error);
  }
  if (text.empty()) {
    text = clipped(error.IsString() ? std::string(error.GetString(), error.GetStringLength())
                                    : mappers::toJson(error));
  }
  if (const auto wait = transientWait(system, result, error)) {
    return engine::PushRetryable{context + ": " + text + " (transient)", *wait};
  }
  return engine::PushPermanent{context + ": " + text};
}

}  // namespace

size_t ConnectorImpl::batchCreateLimit() const {
  const mappers::BatchEndpoint* batch = batchEndpoint("create");
  return batch == nullptr ? 0 : static_cast<size_t>(batch->max_items);
}

boost::asio::awaitable<Result<std::vector<engine::PushOutcome>>> ConnectorImpl::createMany(
    std::vector<const rapidjson::Value*> records, std::vector<std::string> keys) {
  const std::string context = where("batch create");
  const mappers::BatchEndpoint* batch = batchEndpoint("create");
  if (batch == nullptr || records.empty() ||
      records.size() > static_cast<size_t>(batch->max_items)) {
    co_return fail(context + ": " + std::to_string(records.size()) +
                   " records for an endpoint of " +
                   std::to_string(batch == nullptr ? 0 : batch->max_items));
  }
  auto every = [&](engine::PushOutcome outcome) {
    return std::vector<engine::PushOutcome>(records.size(), outcome);
  };
  // A template or pointer the body cannot take is the configuration's fault: no record of this
  // batch can go, and each one is dead-lettered with the reason.
  const TemplateValues vals = values();
  auto body = renderJsonTemplate(batch->request.body, vals);
  if (!body) {
    co_return every(engine::PushPermanent{context + ": " + body.error().message});
  }
  rapidjson::Value* items = rapidjson::Pointer(batch->items_at.c_str()).Get(*body);
  if (items == nullptr || !items->IsArray()) {
    co_return every(engine::PushPermanent{context + ": the body has no array at items_at \"" +
                                          batch->items_at + "\""});
  }
  auto& alloc = body->GetAllocator();
  std::vector<std::optional<std::string>> correlates;
  if (keys.size() != records.size()) {
    co_return fail(context + ": " + std::to_string(keys.size()) + " keys for " +
                   std::to_string(records.size()) + " records");
  }
  for (size_t i = 0; i < records.size(); ++i) {
    TemplateValues item_vals = values();
    item_vals.set("idempotency_key", keys[i]);
    auto shape = renderJsonTemplate(batch->item, item_vals);
    if (!shape) {
      co_return every(engine::PushPermanent{context + ": item: " + shape.error().message});
    }
    rapidjson::Value item(*shape, alloc);  // in the body's own allocator
    if (auto placed = mappers::placeRecord(item, alloc, batch->record_at, *records[i]); !placed) {
      co_return every(engine::PushPermanent{context + ": item: " + placed.error().message});
    }
    if (!batch->correlate_item.empty()) {
      const rapidjson::Value* key = valueAt(item, batch->correlate_item);
      correlates.push_back(key == nullptr ? std::nullopt : scalarText(*key));
    }
    items->PushBack(rapidjson::Value(item, alloc), alloc);
  }
  auto request = renderRequest(system_, batch->request, vals);
  if (!request) {
    co_return every(engine::PushPermanent{context + ": " + request.error().message});
  }
  request->body = mappers::toJson(*body);
  auto answer = co_await channel_.send("create", std::move(*request));
  if (!answer) {
    co_return every(failureOutcome(context, answer.error()));
  }
  if (answer->status < 200 || answer->status >= 300) {
    co_return fail(context + ": HTTP " + std::to_string(answer->status) + ": " +
                   systemErrorText(*answer));
  }
  auto doc = parseAnswer(answer->body);
  const rapidjson::Value* results = doc ? valueAt(*doc, batch->results_pointer) : nullptr;
  if (results == nullptr || !results->IsArray()) {
    // Applied, perhaps: each create is read back before it is tried again.
    co_return every(engine::PushRetryable{
        context + ": HTTP " + std::to_string(answer->status) + ": " +
            (doc ? "no results array at \"" + batch->results_pointer + "\"" : doc.error().message),
        0});
  }
  std::vector<std::optional<engine::PushOutcome>> got(records.size());
  std::vector<bool> taken(records.size(), false);
  for (rapidjson::SizeType r = 0; r < results->Size(); ++r) {
    const rapidjson::Value& result = (*results)[r];
    size_t index = r;
    if (!batch->correlate_result.empty()) {
      const rapidjson::Value* v = valueAt(result, batch->correlate_result);
      const auto key = v == nullptr ? std::nullopt : scalarText(*v);
      index = records.size();
      for (size_t i = 0; key && i < correlates.size(); ++i) {
        if (!taken[i] && correlates[i] == key) {
          index = i;
          break;
        }
      }
    }
    if (index >= records.size() || taken[index]) {
      continue;
    }
    if (!batch->error_pointer.empty()) {
      const rapidjson::Value* error = valueAt(result, batch->error_pointer);
      if (error != nullptr && !error->IsNull() && !error->IsFalse()) {
        taken[index] = true;
        got[index] = resultFailure(context, system_, result, *error);
        continue;
      }
    }
    const rapidjson::Value* id = valueAt(result, batch->id_pointer);
    auto text = id == nullptr ? std::nullopt : scalarText(*id);
    if (!text || text->empty()) {
      continue;  // stays retryable: read back before it is tried again
    }
    taken[index] = true;
    got[index] =
        successOf(valueAt(result, batch->response_record_pointer), std::move(*text), *answer);
  }
  // A record the answer has no result for, or one without an id, may have been created: it is
  // read back before it is tried again. The answer's own text is looked for only then.
  std::vector<engine::PushOutcome> out;
  out.reserve(records.size());
  std::optional<engine::PushOutcome> missing;
  for (auto& outcome : got) {
    if (!outcome && !missing) {
      missing = engine::PushRetryable{
          context + ": the answer has no result for this record (HTTP " +
              std::to_string(answer->status) + ": " + systemErrorText(*answer) + ")",
          0};
    }
    out.push_back(outcome ? std::move(*outcome) : *missing);
  }
  co_return out;
}

}  // namespace tandem::agent::connector
