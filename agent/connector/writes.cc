// get, create, update, remove: one request each, the answer turned into the engine's outcome
// vocabulary. 5xx, timeouts, connection failures, throttling and cut answers are retryable; the
// configured stale signal is stale; 404 or a configured not_found answer is not found; other
// 4xx are permanent with the system's own error text.
#include <rapidjson/document.h>

#include "agent/connector/connector_impl.h"
#include "agent/connector/json_util.h"
#include "agent/connector/records.h"

namespace tandem::agent::connector {
namespace {

bool ok2xx(int status) {
  return status >= 200 && status < 300;
}

std::string httpError(const net::HttpResponse& response) {
  return "HTTP " + std::to_string(response.status) + ": " + systemErrorText(response);
}

// The last path segment of a Location header ("/contacts/42?x=1" → "42").
std::string idFromLocation(std::string_view location) {
  location = location.substr(0, location.find_first_of("?#"));
  while (!location.empty() && location.back() == '/') {
    location.remove_suffix(1);
  }
  const size_t slash = location.rfind('/');
  return std::string(slash == std::string_view::npos ? location : location.substr(slash + 1));
}

}  // namespace

boost::asio::awaitable<Result<std::optional<NativeRecord>>> ConnectorImpl::get(std::string id) {
  const std::string context = where("get", id);
  if (id.empty()) {
    co_return fail(context + ": empty id");
  }
  auto request = renderRequest(system_, spec_.get.request, values(id));
  if (!request) {
    co_return failWith(context, request.error());
  }
  auto answer = co_await channel_.send("get", std::move(*request));
  if (!answer) {
    co_return fail(context + ": " + answer.error().message);
  }
  if (isNotFound(*answer)) {
    co_return std::optional<NativeRecord>();
  }
  if (!ok2xx(answer->status)) {
    co_return fail(context + ": " + httpError(*answer));
  }
  auto doc = parseAnswer(answer->body);
  if (!doc) {
    co_return failWith(context, doc.error());
  }
  const rapidjson::Value* value = valueAt(*doc, spec_.get.record_pointer);
  if (value == nullptr || value->IsNull()) {
    co_return std::optional<NativeRecord>();
  }
  NativeRecord rec = readRecord(spec_.pointers, *value);
  if (!rec.error.empty()) {
    rec.error = context + ": " + rec.error;
  }
  co_return std::optional<NativeRecord>(std::move(rec));
}

boost::asio::awaitable<engine::PushOutcome> ConnectorImpl::create(const rapidjson::Value& fields,
                                                                  std::string idempotency_key) {
  const mappers::CreateSpec& create = spec_.create;
  const std::string context = where("create");
  TemplateValues vals = values();
  if (!idempotency_key.empty()) {
    vals.set("idempotency_key", idempotency_key);
  }
  auto request =
      renderRequest(system_, create.write.request, vals, create.write.record_at, &fields);
  if (!request) {
    co_return engine::PushPermanent{context + ": " + request.error().message};
  }
  if (!idempotency_key.empty()) {
    if (create.idempotency == mappers::IdempotencyPlace::Header) {
      request->headers.emplace_back(create.idempotency_name, idempotency_key);
    } else if (create.idempotency == mappers::IdempotencyPlace::Query) {
      request->target = appendQuery(request->target, create.idempotency_name, idempotency_key);
    }
  }
  auto answer = co_await channel_.send("create", std::move(*request));
  if (!answer) {
    co_return failureOutcome(context, answer.error());
  }
  if (!ok2xx(answer->status)) {
    co_return engine::PushPermanent{context + ": " + httpError(*answer)};
  }
  std::string id;
  if (create.id_source == mappers::IdSource::LocationHeader) {
    id = idFromLocation(answer->header("Location"));
    if (id.empty()) {
      co_return engine::PushPermanent{context + ": HTTP " + std::to_string(answer->status) +
                                      " without a Location header naming the new record"};
    }
  } else {
    auto doc = parseAnswer(answer->body);
    if (!doc) {
      // The create may have been applied: the retry carries the same idempotency key.
      co_return engine::PushRetryable{
          context + ": HTTP " + std::to_string(answer->status) + ": " + doc.error().message, 0};
    }
    const rapidjson::Value* v = valueAt(*doc, create.id_pointer);
    auto text = v == nullptr ? std::nullopt : scalarText(*v);
    if (!text || text->empty()) {
      co_return engine::PushPermanent{context + ": HTTP " + std::to_string(answer->status) +
                                      " without an id at \"" + create.id_pointer + "\""};
    }
    id = std::move(*text);
  }
  co_return successFrom(context, *answer, create.write.response_record_pointer, std::move(id));
}

boost::asio::awaitable<engine::PushOutcome> ConnectorImpl::update(std::string id,
                                                                  const rapidjson::Value& fields,
                                                                  std::string version) {
  co_return co_await writeUpdate("update", std::move(id), fields, std::move(version));
}

boost::asio::awaitable<engine::PushOutcome> ConnectorImpl::writeUpdate(
    std::string_view op, std::string id, const rapidjson::Value& fields, std::string version) {
  const mappers::UpdateSpec& update = spec_.update;
  const std::string context = where(op, id);
  if (id.empty()) {
    co_return engine::PushPermanent{context + ": empty id"};
  }
  if (update.concurrency == mappers::ConcurrencyKind::BodyVersion && version.empty()) {
    co_return engine::PushStale{};  // no token to send: re-read the record to learn it
  }
  TemplateValues vals = values(id);
  if (!version.empty()) {
    vals.set("version", version);
  }
  auto request =
      renderRequest(system_, update.write.request, vals, update.write.record_at, &fields);
  if (!request) {
    co_return engine::PushPermanent{context + ": " + request.error().message};
  }
  if (update.concurrency == mappers::ConcurrencyKind::IfMatch && !version.empty()) {
    request->headers.emplace_back("If-Match", version);
  }
  auto answer = co_await channel_.send(op, std::move(*request));
  if (!answer) {
    co_return failureOutcome(context, answer.error());
  }
  if (isStale(*answer)) {
    co_return engine::PushStale{};
  }
  if (isNotFound(*answer)) {
    co_return engine::PushNotFound{};
  }
  if (!ok2xx(answer->status)) {
    co_return engine::PushPermanent{context + ": " + httpError(*answer)};
  }
  co_return successFrom(context, *answer, update.write.response_record_pointer, std::move(id));
}

boost::asio::awaitable<engine::PushOutcome> ConnectorImpl::remove(std::string id,
                                                                  std::string version) {
  const mappers::DeleteSpec& del = spec_.del;
  const std::string context = where("delete", id);
  switch (del.mode) {
    case mappers::DeleteMode::None:
      co_return engine::PushPermanent{context + ": the connector has no delete (mode none)"};
    case mappers::DeleteMode::FieldWrite: {
      rapidjson::Document fields;
      fields.Parse(del.fields.data(), del.fields.size());
      if (fields.HasParseError() || !fields.IsObject()) {
        co_return engine::PushPermanent{context +
                                        ": delete fields are not a JSON object: " + del.fields};
      }
      co_return co_await writeUpdate("delete", std::move(id), fields, std::move(version));
    }
    case mappers::DeleteMode::Request:
      break;
  }
  if (id.empty()) {
    co_return engine::PushPermanent{context + ": empty id"};
  }
  TemplateValues vals = values(id);
  if (!version.empty()) {
    vals.set("version", version);
  }
  auto request = renderRequest(system_, del.request, vals);
  if (!request) {
    co_return engine::PushPermanent{context + ": " + request.error().message};
  }
  if (spec_.update.concurrency == mappers::ConcurrencyKind::IfMatch && !version.empty()) {
    request->headers.emplace_back("If-Match", version);
  }
  auto answer = co_await channel_.send("delete", std::move(*request));
  if (!answer) {
    co_return failureOutcome(context, answer.error());
  }
  if (isStale(*answer)) {
    co_return engine::PushStale{};
  }
  if (isNotFound(*answer)) {
    co_return engine::PushNotFound{};
  }
  if (!ok2xx(answer->status)) {
    co_return engine::PushPermanent{context + ": " + httpError(*answer)};
  }
  co_return engine::PushSuccess{std::move(id), "", 0};
}

}  // namespace tandem::agent::connector
