#pragma once

// A record and its shadows in one value of the records table (schema 5). Internal to state/.
//
//   row := kRowFormat | varint n | the record (n bytes, conflict/codec.h)
//          | { system (1 byte) | varint n | its shadow (n bytes, format 4) }*, systems ascending
//
// Each shadow is written against the record in the same row (conflict::ShadowBase), so a
// settled shadow is a few bytes, and one read gives a record and every shadow of it. The
// store writes a row whole: when the record changes, the shadows it keeps are decoded against
// the old record and written again against the new one. A row always holds a record: a shadow
// means nothing without it.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "conflict/codec.h"
#include "conflict/record.h"
#include "conflict/result.h"
#include "state/store.h"

namespace tandem::state {

// Not a record format (1 to 3): the 4 -> 5 migration tells rows from records by it.
inline constexpr uint8_t kRowFormat = 0x10;

struct RowView {
  std::string_view record;
  std::array<std::string_view, conflict::kMaxActors> shadows{};
  uint32_t systems = 0;  // bit s: the row holds system s's shadow
};

bool isRow(std::string_view bytes);
Result<RowView> parseRow(std::string_view bytes);
std::string assembleRow(std::string_view record,
                        const std::array<std::string, conflict::kMaxActors>& shadows,
                        uint32_t systems);

// The shadow of `system` the row holds, read against `base` (its record's); errors name the
// system.
Result<conflict::Shadow> decodeRowShadowOf(const RowView& row, size_t system,
                                           const conflict::ShadowBase& base,
                                           conflict::NameTable* names);
// The record of a row, and the shadows of `systems` (bit s) it holds; nullopt for the others.
Result<RecordRow> decodeRow(std::string_view bytes, uint32_t systems, conflict::NameTable* names);
// Only the shadow of `system`, if the row holds one: the record is read for its base, not built.
Result<std::optional<conflict::Shadow>> decodeRowShadow(std::string_view bytes, ActorId system,
                                                        conflict::NameTable* names);

}  // namespace tandem::state
