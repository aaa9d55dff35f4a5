// Connector::make and what the feed, the writes and the webhook share.
#include "agent/connector/connector_impl.h"

#include <rapidjson/document.h>

#include "agent/connector/json_util.h"
#include "agent/connector/records.h"
#include "agent/net/url.h"

namespace tandem::agent::connector {

engine::PushOutcome failureOutcome(const std::string& context, const ChannelFailure& failure) {
  if (failure.retryable) {
    return engine::PushRetryable{context + ": " + failure.message, failure.retry_after_ms};
  }
  return engine::PushPermanent{context + ": " + failure.message};
}

ConnectorImpl::ConnectorImpl(SystemChannelImpl& channel, const mappers::SystemConfig& system,
                             const mappers::SystemEntity& entity)
    : channel_(channel), system_(system), entity_(entity.entity), spec_(entity.connector) {}

std::string ConnectorImpl::where(std::string_view op, std::string_view id) const {
  std::string out = "connector " + system_.name + "." + entity_ + " " + std::string(op);
  if (!id.empty()) {
    out += " " + std::string(id);
  }
  return out;
}

TemplateValues ConnectorImpl::values(std::string_view id) const {
  TemplateValues v(system_);
  if (!id.empty()) {
    v.set("id", std::string(id), spec_.id_type == mappers::IdType::Integer);
  }
  return v;
}

std::string ConnectorImpl::resolveUrl(const std::string& url) const {
  if (url.starts_with("http://") || url.starts_with("https://")) {
    return url;
  }
  if (url.starts_with("/")) {
    if (auto base = net::parseUrl(system_.base_url)) {
      return base->origin() + url;
    }
  }
  std::string base = system_.base_url;
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  return base + "/" + url;
}

namespace {

bool matchesAny(const std::vector<mappers::AnswerSignal>& signals,
                const net::HttpResponse& response) {
  for (const auto& signal : signals) {
    if (signal.status != response.status) {
      continue;
    }
    if (signal.error_code_pointer.empty()) {
      return true;
    }
    rapidjson::Document doc;
    doc.Parse(response.body.data(), response.body.size());
    if (doc.HasParseError()) {
      continue;
    }
    const rapidjson::Value* code = valueAt(doc, signal.error_code_pointer);
    if (code != nullptr && scalarText(*code) == signal.error_code) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool ConnectorImpl::isStale(const net::HttpResponse& response) const {
  return matchesAny(spec_.update.stale, response);
}

bool ConnectorImpl::isNotFound(const net::HttpResponse& response) const {
  return response.status == 404 || matchesAny(spec_.not_found, response);
}

engine::PushOutcome ConnectorImpl::successFrom(const std::string& context,
                                               const net::HttpResponse& response,
                                               const std::string& record_pointer,
                                               std::string native_id) const {
  engine::PushSuccess ok;
  ok.native_id = std::move(native_id);
  if (!response.body.empty()) {
    auto doc = parseAnswer(response.body);
    if (!doc) {
      // Applied, but the answer was cut: retrying is harmless (same body, same key) and the
      // pending write recognises the value when the feed shows it.
      return engine::PushRetryable{
          context + ": HTTP " + std::to_string(response.status) + ": " + doc.error().message, 0};
    }
    return successOf(valueAt(*doc, record_pointer), std::move(ok.native_id), response);
  }
  return successOf(nullptr, std::move(ok.native_id), response);
}

engine::PushSuccess ConnectorImpl::successOf(const rapidjson::Value* record, std::string native_id,
                                             const net::HttpResponse& response) const {
  engine::PushSuccess ok;
  ok.native_id = std::move(native_id);
  if (record != nullptr && record->IsObject()) {
    if (!spec_.pointers.version.empty()) {
      if (const rapidjson::Value* v = valueAt(*record, spec_.pointers.version)) {
        ok.version_token = scalarText(*v).value_or("");
      }
    }
    ok.source_ts_ms = readUpdatedMs(spec_.pointers, *record);
  }
  if (ok.version_token.empty() && spec_.update.concurrency == mappers::ConcurrencyKind::IfMatch) {
    ok.version_token = std::string(response.header("ETag"));
  }
  return ok;
}

const mappers::BatchEndpoint* ConnectorImpl::batchEndpoint(std::string_view name) const {
  for (const auto& b : spec_.batch) {
    if (b.name == name) {
      return &b;
    }
  }
  return nullptr;
}

const mappers::WebhookSpec* ConnectorImpl::webhook() const {
  return spec_.webhook ? &*spec_.webhook : nullptr;
}

Result<std::unique_ptr<Connector>> Connector::make(SystemChannel& channel,
                                                   const mappers::SystemConfig& system,
                                                   const mappers::SystemEntity& entity) {
  const std::string where = "connector " + system.name + "." + entity.entity;
  auto* impl = dynamic_cast<SystemChannelImpl*>(&channel);
  if (impl == nullptr) {
    return fail(where + ": the channel was not made by SystemChannel::make");
  }
  if (impl->system() != system.name) {
    return fail(where + ": the channel belongs to system " + impl->system());
  }
  const mappers::ConnectorSpec& spec = entity.connector;
  const TemplateValues values(system);
  const std::pair<const char*, const mappers::RequestSpec*> requests[] = {
      {"feed", &spec.feed.request},
      {"get", &spec.get.request},
      {"create", &spec.create.write.request},
      {"update", &spec.update.write.request},
      {"delete", &spec.del.request}};
  for (const auto& [name, request] : requests) {
    if (auto ok = checkRequestTemplate(*request, values); !ok) {
      return failWith(where + " " + name, ok.error());
    }
  }
  if (spec.feed.paging.limit <= 0) {
    return fail(where + " feed: paging limit must be positive");
  }
  if (const auto& fallback = spec.feed.dense_fallback) {
    if (auto ok = checkRequestTemplate(fallback->request, values); !ok) {
      return failWith(where + " feed dense_fallback", ok.error());
    }
    if (fallback->paging.limit <= 0) {
      return fail(where + " feed dense_fallback: paging limit must be positive");
    }
    if (fallback->paging.kind == mappers::PagingKind::None) {
      return fail(where + " feed dense_fallback: it must page through its second");
    }
  }
  return std::unique_ptr<Connector>(new ConnectorImpl(*impl, system, entity));
}

}  // namespace tandem::agent::connector
