#pragma once

// The loaded configuration: plain structs the agent consumes. Produced only by loadConfig()
// (mappers/config_loader.h), which validates every field; a Config in hand is consistent.
// Secrets are resolved at load and never printed (Secret has no stream operator).

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "conflict/record.h"
#include "conflict/value.h"
#include "mappers/mapping_spec.h"

namespace tandem::mappers {

// A resolved secret. describe() says where it came from ("env:CRM_TOKEN"), never its value.
class Secret {
 public:
  Secret() = default;
  Secret(std::string source, std::string value)
      : source_(std::move(source)), value_(std::move(value)) {}
  const std::string& reveal() const { return value_; }
  const std::string& describe() const { return source_; }
  bool empty() const { return source_.empty(); }

 private:
  std::string source_;
  std::string value_;
};

enum class LogFormat { Text, Json };
// The least severe lines the agent writes (debug adds each feed page and each re-read).
enum class LogLevelSetting { Debug, Info, Warn, Error };

struct AdminSettings {
  std::string bind = "127.0.0.1";
  uint16_t port = 7070;
  Secret token;  // empty: admin API unauthenticated (only allowed on loopback)
};

// The periodic existence check of the records linked to a system (CONVERGENCE.md case 16: a
// hard delete that no feed shows). "existence_check": {"interval_s", "max_per_s"} under "agent"
// (the default) and under a system (overrides the keys it gives).
struct ExistenceCheck {
  int64_t interval_ms = 0;  // 0 = off; configured in whole seconds ("interval_s")
  double max_per_s = 5;     // records fetched per second at most
};

struct ExistenceCheckOverride {
  std::optional<int64_t> interval_ms;
  std::optional<double> max_per_s;
};

struct AgentSettings {
  std::string state_dir = "./tandem-state";
  AdminSettings admin;
  int64_t poll_interval_ms = 5000;
  LogFormat log_format = LogFormat::Text;
  LogLevelSetting log_level = LogLevelSetting::Info;
  ExistenceCheck existence_check;
};

enum class AuthKind { None, Bearer, ApiKeyHeader, Basic };

struct Auth {
  AuthKind kind = AuthKind::None;
  std::string header;    // ApiKeyHeader: header name; Bearer: "Authorization" unless set
  std::string scheme;    // Bearer: word before the token ("Bearer"; Odoo-like uses "bearer")
  std::string username;  // Basic
  Secret secret;         // token, api key or password
};

struct RateLimits {
  double requests_per_second = 10;
  int burst = 10;
  int max_in_flight = 4;
};

struct Timeouts {
  int64_t connect_ms = 5000;
  int64_t request_ms = 30000;
};

// A request template. Templates use {name} placeholders: {id}, {version}, {since}, {after},
// {offset}, {limit}, {idempotency_key}, {from}, {to} (the feed's dense_fallback) and the system's
// vars ({realm}). In `body`, a JSON string
// that is exactly one placeholder is replaced by the typed value ({limit} and {offset} →
// number, {id} → number when id_type is integer, {since} → string in the feed's since_format,
// {after}, {version} → string); a member or query parameter whose placeholder has no value
// (e.g. {after} on the first page) is left out. `body` is JSON text, empty for no body.
struct RequestSpec {
  std::string method = "GET";
  std::string url;  // relative to the system's base_url, may carry a query string
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

enum class SinceSource { MaxUpdated, Token };
enum class PagingKind { None, BodyToken, NextUrl, OffsetLimit, StartingAfter };

struct Paging {
  PagingKind kind = PagingKind::None;
  std::string token_pointer;     // BodyToken: where the next token is ("/paging/next/after")
  std::string next_url_pointer;  // NextUrl
  std::string has_more_pointer;  // OffsetLimit / StartingAfter: optional flag; else short page
  int64_t limit = 100;           // page size put into {limit}
  int64_t offset_base = 0;       // OffsetLimit: {offset} of the first record (QuickBooks: 1)
  // Hard cap on results per query (HubSpot search 10,000; QuickBooks CDC 1,000 with kind None).
  // Reaching it means: narrow the window (since .. last updated seen) and repeat.
  int64_t max_results = 0;
};

// A second, pageable request that reads one whole updated second, [{from}, {to}), when the feed
// reaches max_results within that second and cannot narrow its window further (a bulk import:
// more than 1,000 QuickBooks customers with one LastUpdatedTime). The feed goes on after it.
struct DenseFallback {
  RequestSpec request;                      // {from}, {to}, {offset}, {limit}, {after} and the vars
  TimeFormat format = TimeFormat::Rfc3339;  // how {from} and {to} are written (feed's since)
  std::string records_pointer;              // "" = the response is the array
  Paging paging;                            // never None; no max_results
};

struct FeedSpec {
  RequestSpec request;
  SinceSource since_source = SinceSource::MaxUpdated;
  TimeFormat since_format = TimeFormat::Rfc3339;  // how {since} is written
  std::string token_pointer;  // SinceSource::Token: where the next since-token comes back
  bool since_inclusive = true;
  int64_t overlap_ms = 0;  // re-read this far behind the cursor; duplicates are de-duplicated
  Paging paging;
  std::string records_pointer;  // "" = the response is the array
  // Optional: how many records the query matches in all (HubSpot search's "total"), for the
  // initial load's ETA.
  std::string total_pointer;
  std::optional<DenseFallback> dense_fallback;
};

// JSON pointers into one system record.
struct RecordPointers {
  std::string id;
  std::string updated;
  TimeFormat updated_format = TimeFormat::Rfc3339;
  std::string version;   // version token (SyncToken), "" if none
  std::string deleted;   // true means deleted
  std::string archived;  // true means archived
  std::string active;    // false means archived
};

enum class IdType { String, Integer };

struct GetSpec {
  RequestSpec request;
  std::string record_pointer;  // where the record is in the response ("/Customer", "/0")
};

enum class IdempotencyPlace { None, Header, Query };
enum class IdSource { BodyPointer, LocationHeader };

struct WriteSpec {
  RequestSpec request;
  std::string record_at;  // pointer into `body` where the mapped record's members are merged
  std::string response_record_pointer;  // record in the answer, for version/updated ("" none)
};

struct CreateSpec {
  WriteSpec write;
  IdSource id_source = IdSource::BodyPointer;
  std::string id_pointer;  // BodyPointer
  IdempotencyPlace idempotency = IdempotencyPlace::None;
  std::string idempotency_name;  // header or query parameter name
};

enum class ConcurrencyKind { None, IfMatch, BodyVersion };

// An error answer the connector recognises: a status and, optionally, the system's own error
// code in the body (QuickBooks answers 400 for both a stale SyncToken, 5010, and an unknown id,
// 610).
struct AnswerSignal {
  int status = 0;
  std::string error_code_pointer;  // optional: where the error code is in the answer
  std::string error_code;          // required when error_code_pointer is set
};

struct UpdateSpec {
  WriteSpec write;
  bool partial = true;  // only changed fields (CONVERGENCE case 13)
  ConcurrencyKind concurrency = ConcurrencyKind::None;
  std::vector<AnswerSignal> stale;
};

enum class DeleteMode { None, Request, FieldWrite };

struct DeleteSpec {
  DeleteMode mode = DeleteMode::None;
  RequestSpec request;  // Request
  std::string fields;   // FieldWrite: JSON object written through update ({"active": false})
};

struct BatchEndpoint {
  std::string name;  // read, create, update, archive
  RequestSpec request;
  int max_items = 100;
  // "create": how records go into one request and how its answer maps back to them.
  std::string items_at;                 // the array in the body that takes one item per record
  std::string item = "{}";              // JSON template of one item
  std::string record_at;                // where the mapped record is merged into an item
  std::string results_pointer;          // the answer's array of results ("" = the answer itself)
  std::string id_pointer;               // the new id in a result ("" = the result is the id)
  std::string response_record_pointer;  // the record in a result, for version/updated
  // A result belongs to the item holding the same value at correlate_item (HubSpot does not
  // promise the input order); both "" = results come in the order of the items.
  std::string correlate_item;
  std::string correlate_result;
  // A result holding a value here (QuickBooks: "/Fault") is that record's failure, not a create
  // whose outcome is unknown; "" = results carry no error of their own.
  std::string error_pointer;
};

struct ThrottleSignal {
  int status = 429;
  std::string retry_after_header;  // "" if the answer carries none
  std::string error_code_pointer;
  std::string error_code;
};

enum class SignatureEncoding { Hex, Base64 };
enum class SignaturePart { Method, Uri, Body, Timestamp };

struct WebhookSpec {
  std::string path;  // where tandem listens ("/hooks/crm")
  std::string signature_header;
  SignatureEncoding encoding = SignatureEncoding::Base64;
  std::vector<SignaturePart> signed_parts;  // concatenated in this order, HMAC-SHA256
  std::string timestamp_header;             // "" if none
  bool timestamp_in_ms = true;
  int64_t tolerance_ms = 300000;
  Secret secret;
  // Pointer to record ids in the payload; "*" steps into every array element.
  std::string ids_pointer;
};

struct ConnectorSpec {
  IdType id_type = IdType::String;
  FeedSpec feed;
  RecordPointers pointers;
  GetSpec get;
  CreateSpec create;
  UpdateSpec update;
  DeleteSpec del;
  std::vector<BatchEndpoint> batch;
  std::optional<WebhookSpec> webhook;
  // Answers meaning "no such record" besides 404, for get, update and delete.
  std::vector<AnswerSignal> not_found;
};

struct SystemEntity {
  std::string entity;
  ConnectorSpec connector;
  MappingSpec mapping;
};

struct SystemConfig {
  std::string name;
  std::string base_url;
  Auth auth;
  RateLimits rate_limits;
  Timeouts timeouts;
  std::vector<std::pair<std::string, std::string>> vars;  // {realm} etc.
  std::vector<ThrottleSignal> throttle;
  int64_t default_backoff_ms = 1000;
  ExistenceCheckOverride existence_check;
  std::vector<SystemEntity> entities;

  const SystemEntity* findEntity(std::string_view name) const;
};

struct FieldPolicy {
  conflict::PolicyKind kind = conflict::PolicyKind::Lww;
  std::vector<std::string> prefer;  // Prefer: ordered systems
};

enum class DeletePolicyKind { UpdateWins, DeleteWins, Prefer, Manual };

struct DeletePolicy {
  DeletePolicyKind kind = DeletePolicyKind::UpdateWins;
  std::vector<std::string> prefer;
};

struct CanonicalField {
  std::string name;
  FieldType type = FieldType::String;
  Normalize normalize;
  FieldPolicy policy;    // the entity default unless the field sets its own
  std::string owned_by;  // "" = every system may change it
};

struct EntityConfig {
  std::string name;
  std::vector<CanonicalField> fields;  // sorted by name
  std::vector<std::string> match_keys;
  FieldPolicy default_policy;
  std::vector<std::string> system_priority;  // lww ties
  DeletePolicy delete_policy;
  int64_t tombstone_retention_days = 90;

  const CanonicalField* findField(std::string_view name) const;
};

struct Config {
  std::string path;
  AgentSettings agent;
  std::vector<SystemConfig> systems;
  std::vector<EntityConfig> entities;

  const SystemConfig* findSystem(std::string_view name) const;
  const EntityConfig* findEntity(std::string_view name) const;
  // The agent's existence check with the system's overrides applied.
  ExistenceCheck existenceCheck(const SystemConfig& system) const;
};

}  // namespace tandem::mappers
