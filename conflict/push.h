#pragma once

// Push planning: what tandem writes to one system so that it holds the canonical record.
// Only the fields whose canonical value differs from the system's shadow go into the body (a
// partial body: a concurrent edit of another field survives, CONVERGENCE.md case 13); fields
// held by an open manual or frozen conflict are left alone.
//
// Life of a push: planPush() → recordPending() in the same transaction as the outbox entry →
// the request → confirmPush() on success (or, when the answer was lost, the next report matches
// the pending write and mergeReport() confirms it).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "conflict/merge.h"
#include "conflict/record.h"

namespace tandem::conflict {

enum class PushOp : uint8_t {
  None,      // the system already holds the canonical record
  Create,    // the system has never held the record: create it with every mapped field
  Update,    // write the differing fields
  Delete,    // delete or archive, as the system's connector does
  Undelete,  // unarchive (or re-create where the system hard-deleted) with every mapped field
};
const char* pushOpName(PushOp op);

struct PushField {
  std::string name;
  Value value;
  uint64_t hash = 0;  // value.hash(): what the pending write and the confirmation compare
  VersionVector vv;   // C(f) when planned: the shadow's V_s(f) once confirmed
};

struct PushPlan {
  ActorId system = 0;
  PushOp op = PushOp::None;
  std::vector<PushField> fields;  // sorted by name
  VersionVector tombstone_vv;     // C(deleted) when planned (Delete, Undelete, Create)
  std::string version_token;      // the If-Match / version to send, from the shadow
};

// True when the system lacks something of the canonical record (a field value, the record
// itself, or its deleted state), leaving out fields held by an open conflict.
bool needsPush(const Record& record, const std::optional<Shadow>& shadow, const SystemSpec& spec);

// The push that brings the system to the canonical record; op None when nothing is needed.
PushPlan planPush(const Record& record, const std::optional<Shadow>& shadow,
                  const SystemSpec& spec);

// Records the plan's values as pending writes in the system's shadow (creating the shadow for a
// Create). Call in the transaction that writes the outbox entry.
void recordPending(std::optional<Shadow>& shadow, const PushPlan& plan);

// The system answered success: its shadow takes the pushed values with V_s(f) = C(f) as planned,
// the pending writes up to them are dropped, and the new token and updated time are kept.
// source_ts_ms must come from the system's clock (its updated time in the answer), or be 0 when
// the answer has none: reports older than it are ignored as stale.
void confirmPush(Shadow& shadow, const PushPlan& plan, std::string version_token,
                 int64_t source_ts_ms);

// Pending writes kept per field; older ones are dropped first.
inline constexpr size_t kMaxPending = 8;

}  // namespace tandem::conflict
