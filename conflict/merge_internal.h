#pragma once

// Helpers shared by merge.cc, merge_delete.cc, push.cc and resolve.cc. Not part of the public
// API: callers use merge.h, push.h and resolve.h.

#include <string_view>
#include <vector>

#include "conflict/merge.h"

namespace tandem::conflict::detail {

uint64_t flagHash(bool deleted);  // hash of the tombstone pseudo-field's value
uint64_t nullHash();

// A conflict entry about `field` of the record, with a fresh id from the context's sequence.
ConflictEntry newEntry(const Record& record, std::string_view field, PolicyKind policy,
                       const MergeContext& ctx);
// An amendment to stored entry `id`.
ConflictEntry amendmentOf(const Record& record, std::string_view field, uint64_t id,
                          PolicyKind policy, const MergeContext& ctx);

// The agent's outcome of a concurrent merge dominates both sides: max(a, b) + tick(agent).
VersionVector agentOutcome(const VersionVector& a, const VersionVector& b, const MergeContext& ctx);

// Every system holding the canonical value of `field` has, by holding it, seen C(f).
void syncEqualShadows(RecordState& state, std::string_view field, const MergeContext& ctx);
void syncTombstoneShadows(RecordState& state, const MergeContext& ctx);

std::vector<ActorId> systemsNeedingPush(const RecordState& state, const MergeContext& ctx);
// needsPush() given hashes[i] = hash of the i-th canonical field's value.
bool needsPushHashed(const Record& record, const uint64_t* hashes,
                     const std::optional<Shadow>& shadow, const SystemSpec& spec);

// Drops pending writes up to the one with `hash` and takes it over: true when one matched.
bool confirmPending(ShadowField& sf, uint64_t hash);

// Tombstone handling of a report (its deleted flag), and the check that an edit from a system
// which has not seen the record's delete is an update concurrent with that delete.
void mergeTombstone(RecordState& state, Shadow& shadow, const Report& report,
                    const MergeContext& ctx, MergeResult& out);
void updateAgainstDelete(RecordState& state, const ConflictSide& update, std::string_view field,
                         const MergeContext& ctx, MergeResult& out);

}  // namespace tandem::conflict::detail
