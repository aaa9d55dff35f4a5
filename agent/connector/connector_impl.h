#pragma once

// The one Connector implementation, driven by the entity's ConnectorSpec. Split by
// responsibility: feed.cc (fetchChanges), writes.cc (get, create, update, remove), webhook.cc
// (verifyWebhook), connector.cc (make and shared helpers).

#include <string>
#include <string_view>

#include "agent/connector/channel_impl.h"
#include "agent/connector/connector.h"
#include "agent/connector/cursor.h"
#include "agent/connector/request_template.h"

namespace tandem::agent::connector {

class ConnectorImpl final : public Connector {
 public:
  ConnectorImpl(SystemChannelImpl& channel, const mappers::SystemConfig& system,
                const mappers::SystemEntity& entity);

  boost::asio::awaitable<Result<FeedBatch>> fetchChanges(
      std::optional<std::string> cursor) override;
  boost::asio::awaitable<Result<std::optional<NativeRecord>>> get(std::string id) override;
  boost::asio::awaitable<engine::PushOutcome> create(const rapidjson::Value& fields,
                                                     std::string idempotency_key) override;
  boost::asio::awaitable<engine::PushOutcome> update(std::string id, const rapidjson::Value& fields,
                                                     std::string version) override;
  boost::asio::awaitable<engine::PushOutcome> remove(std::string id, std::string version) override;
  size_t batchCreateLimit() const override;
  boost::asio::awaitable<Result<std::vector<engine::PushOutcome>>> createMany(
      std::vector<const rapidjson::Value*> records, std::vector<std::string> keys) override;
  const mappers::WebhookSpec* webhook() const override;
  Result<WebhookDelivery> verifyWebhook(const net::HttpRequest& request,
                                        int64_t now_ms) const override;
  const std::string& system() const override { return system_.name; }
  const std::string& entity() const override { return entity_; }

 private:
  // "connector crm.customer feed", "connector erp.customer update 42".
  std::string where(std::string_view op, std::string_view id = {}) const;
  // The system's vars plus {id} (typed by id_type) when `id` is not empty.
  TemplateValues values(std::string_view id = {}) const;
  // An update-shaped write (update, or delete by field write) and its outcome.
  boost::asio::awaitable<engine::PushOutcome> writeUpdate(std::string_view op, std::string id,
                                                          const rapidjson::Value& fields,
                                                          std::string version);
  // The success of a write: version token and updated time from the answer when present.
  engine::PushOutcome successFrom(const std::string& context, const net::HttpResponse& response,
                                  const std::string& record_pointer, std::string native_id) const;
  // The same from the record of an answer already parsed (nullptr: none); `response` gives the
  // ETag where the system versions by If-Match.
  engine::PushSuccess successOf(const rapidjson::Value* record, std::string native_id,
                                const net::HttpResponse& response) const;
  const mappers::BatchEndpoint* batchEndpoint(std::string_view name) const;
  bool isStale(const net::HttpResponse& response) const;
  // 404, or an answer the configuration names as "not found".
  bool isNotFound(const net::HttpResponse& response) const;
  // A URL from a next-page link: absolute as is, else against base_url.
  std::string resolveUrl(const std::string& url) const;

  // The cursor the last page was answered with, decoded: the detector hands that text back
  // for the next page, and a bulk load's cursor (its `seen`) is large to parse every page.
  void keepCursor(const std::string& text, FeedCursor cursor);

  std::string kept_cursor_text_;
  std::optional<FeedCursor> kept_cursor_;
  SystemChannelImpl& channel_;
  const mappers::SystemConfig system_;
  const std::string entity_;
  const mappers::ConnectorSpec spec_;
};

// The outcome of a request that got no usable answer.
engine::PushOutcome failureOutcome(const std::string& context, const ChannelFailure& failure);

}  // namespace tandem::agent::connector
