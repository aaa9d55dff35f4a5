#pragma once

// The store's own value types (the merge core's Record, Shadow and ConflictEntry are encoded
// by conflict/codec.h) and their binary encodings. Every decode reports truncation and
// corruption as an error; the store adds the table and key.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "conflict/record.h"
#include "conflict/result.h"

namespace tandem::state {

using conflict::ActorId;
using conflict::RecordId;

enum class PushKind : uint8_t { Create = 0, Update = 1, Delete = 2, Archive = 3 };
const char* pushKindName(PushKind k);

// One pending push of a record to a system. There is at most one per (system, record):
// enqueueing again replaces it, so a push always carries the latest values.
struct OutboxEntry {
  ActorId system = 0;
  RecordId record;
  int64_t due_ms = 0;  // not before this unix time; must be >= 0
  PushKind kind = PushKind::Update;
  uint32_t attempts = 0;
  std::string last_error;
  std::string idempotency_key;  // sent with creates; found again after an unknown outcome
  int64_t enqueued_ms = 0;

  bool operator==(const OutboxEntry&) const = default;
};

// A push that was given up on, kept for an operator.
struct DeadLetter {
  ActorId system = 0;
  RecordId record;
  std::string reason;
  int64_t time_ms = 0;
  uint32_t attempts = 0;
  PushKind kind = PushKind::Update;

  bool operator==(const DeadLetter&) const = default;
};

// (system, native id) <-> record id.
struct Link {
  ActorId system = 0;
  std::string native_id;
  RecordId record;

  bool operator==(const Link&) const = default;
};

// (entity, key name, normalised value) -> record id, for identity matching.
struct MatchKey {
  std::string entity;
  std::string key;
  std::string value;
  RecordId record;  // ignored for removals

  bool operator==(const MatchKey&) const = default;
};

// Values of the outbox (the key holds due time, system and record) and of dead letters (the
// key holds system and record).
std::string encodeOutboxValue(const OutboxEntry& e);
Status decodeOutboxValue(std::string_view bytes, OutboxEntry& into);
std::string encodeDeadLetterValue(const DeadLetter& d);
Status decodeDeadLetterValue(std::string_view bytes, DeadLetter& into);

// The actor clock as stored in meta: one fixed64 counter per actor.
std::string encodeClock(const conflict::ActorClock& c);
Result<conflict::ActorClock> decodeClock(std::string_view bytes);

}  // namespace tandem::state
