#pragma once

// The declarative REST connector: one class for every system, driven by the system's
// configuration (mappers::SystemConfig / ConnectorSpec). No per-system C++ (DESIGN.md
// "Connectors are data, not code").
//
//   auto channel = SystemChannel::make(ioc, system_config, observer);   // one per system
//   auto conn = Connector::make(*channel, system_config, entity_config); // one per entity
//   auto batch = co_await conn->fetchChanges(cursor);   // records + the cursor after them
//   auto outcome = co_await conn->update(id, fields, version);
//
// A SystemChannel owns what a system's entities share: the HTTP client (keep-alive pool, TLS),
// auth, the rate limiter (requests/s, max in flight) and the circuit breaker. Every failure is a
// value; nothing throws.
//
// This header is the contract between the connector (agent/connector/) and the runtime
// (agent/runtime/). Changing it means changing both.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>
#include <boost/asio/awaitable.hpp>

#include "agent/clock.h"
#include "agent/engine/engine.h"
#include "agent/net/http_message.h"
#include "conflict/result.h"
#include "mappers/config.h"

namespace boost::asio {
class io_context;
}

namespace tandem::agent::connector {

// One record as the system sent it, with what the connector pointers say about it.
struct NativeRecord {
  std::string id;          // as text, also for integer ids ("42")
  int64_t updated_ms = 0;  // from the `updated` pointer; 0 when absent
  std::string version;     // concurrency token (ETag or SyncToken), "" when none
  bool deleted = false;    // the `deleted` pointer said so
  bool archived = false;   // the `archived` (true) or `active` (false) pointer said so
  // The record object itself, in a pool of small chunks. A Document's own pool starts with a
  // 64 KiB chunk, for a record of one or two: a feed page of a thousand records took 64 MB of
  // heap, and the chunks, freed between longer-lived allocations, were not given back, so the
  // agent's anonymous memory grew with every page of an initial load. The pool moves with the
  // record; `body` uses it until the record is destroyed.
  static constexpr size_t kBodyChunkBytes = 1024;
  std::unique_ptr<rapidjson::MemoryPoolAllocator<>> body_pool =
      std::make_unique<rapidjson::MemoryPoolAllocator<>>(kBodyChunkBytes);
  rapidjson::Document body{body_pool.get()};
  // Non-empty when the record could not be read (no id, wrong type of `updated`, ...): the
  // runtime dead-letters it with this text and goes on with the rest of the batch.
  std::string error;
};

struct FeedBatch {
  std::vector<NativeRecord> records;  // de-duplicated against what the cursor already covers
  // The cursor to store with this batch (opaque to the runtime; nullopt = unchanged). Storing it
  // and calling fetchChanges(cursor) again resumes after these records, re-reading the overlap
  // window without re-reporting what was already seen.
  std::optional<std::string> cursor;
  bool more = false;  // more changes are waiting: call again right away
  // Records the running query still holds after this page, when the feed says how many it
  // matches (feed.total_pointer); an estimate across restarts of the query.
  std::optional<uint64_t> remaining;
};

// Ids and kinds of request, for metrics and logs: "feed", "get", "create", "update", "delete".
struct RequestObservation {
  std::string_view system;
  std::string_view op;
  int status = 0;  // 0 when no HTTP answer (connect error, timeout)
  double seconds = 0;
};
using RequestObserver = std::function<void(const RequestObservation&)>;

struct ChannelOptions {
  RequestObserver observer;  // may be empty
  std::string ca_file;       // extra PEM trust for https base URLs
  int breaker_failures = 5;
  int64_t breaker_cooldown_ms = 30'000;
};

class SystemChannel;
class Connector;

// The webhook receiver's view: verify a delivery and say which records to fetch.
struct WebhookDelivery {
  std::vector<std::string> ids;  // record ids named by the payload (may repeat; de-duplicate)
};

class Connector {
 public:
  static Result<std::unique_ptr<Connector>> make(SystemChannel& channel,
                                                 const mappers::SystemConfig& system,
                                                 const mappers::SystemEntity& entity);
  virtual ~Connector() = default;

  // The next batch of changes after `cursor` (nullopt: from the beginning). A page that is
  // malformed (not JSON, records not an array, truncated) is an error and the cursor is not
  // advanced; a malformed single record comes back with NativeRecord::error set.
  virtual boost::asio::awaitable<Result<FeedBatch>> fetchChanges(
      std::optional<std::string> cursor) = 0;

  // One record; nullopt when the system answers 404 / not found.
  virtual boost::asio::awaitable<Result<std::optional<NativeRecord>>> get(std::string id) = 0;

  // Writes. `fields` is the mapped body (mappers::toSystemDocument). The outcome uses the
  // engine's vocabulary: success (with the new id for a create, the version token and updated
  // time of the answer when it carries them), retryable (5xx, timeouts, throttling with its
  // Retry-After), stale (the configured stale signal), permanent (other 4xx, with the system's
  // error text), not found (404 on update/delete).
  virtual boost::asio::awaitable<engine::PushOutcome> create(const rapidjson::Value& fields,
                                                             std::string idempotency_key) = 0;
  virtual boost::asio::awaitable<engine::PushOutcome> update(std::string id,
                                                             const rapidjson::Value& fields,
                                                             std::string version) = 0;
  virtual boost::asio::awaitable<engine::PushOutcome> remove(std::string id,
                                                             std::string version) = 0;

  // How many creates one request of the `batch.create` endpoint takes; 0 = no such endpoint.
  virtual size_t batchCreateLimit() const { return 0; }
  // Several creates in one request (at most batchCreateLimit()), `keys` their idempotency keys
  // (the item template's {idempotency_key}): one outcome per record, in the records' order. An
  // error means the system refused the batch as a whole (a 4xx answer): send the records one at a
  // time, so a bad one is refused alone. Without an idempotency key per record, a record whose
  // outcome is unknown is read back like any create's.
  virtual boost::asio::awaitable<Result<std::vector<engine::PushOutcome>>> createMany(
      std::vector<const rapidjson::Value*> records, std::vector<std::string> keys) {
    (void)records;
    (void)keys;
    co_return fail("no batch create endpoint");
  }

  // Whether this entity has a webhook, and where tandem listens for it.
  virtual const mappers::WebhookSpec* webhook() const = 0;
  // Verifies signature and timestamp (tolerance against now_ms) and extracts the ids.
  // Errors are exact ("webhook crm: signature mismatch", "webhook crm: timestamp 1700000000000
  // is 400000 ms old, tolerance 300000").
  virtual Result<WebhookDelivery> verifyWebhook(const net::HttpRequest& request,
                                                int64_t now_ms) const = 0;

  virtual const std::string& system() const = 0;
  virtual const std::string& entity() const = 0;
};

class SystemChannel {
 public:
  static Result<std::unique_ptr<SystemChannel>> make(boost::asio::io_context& ioc,
                                                     const mappers::SystemConfig& system,
                                                     const Clock& clock, ChannelOptions options);
  virtual ~SystemChannel() = default;
  virtual const std::string& system() const = 0;
  // "closed", "open", "half-open": for status and metrics.
  virtual std::string breakerState() const = 0;
};

}  // namespace tandem::agent::connector
