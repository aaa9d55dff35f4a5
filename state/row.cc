#include "state/row.h"

#include "conflict/bytes.h"

namespace tandem::state {

bool isRow(std::string_view bytes) {
  return !bytes.empty() && static_cast<uint8_t>(bytes[0]) == kRowFormat;
}

Result<RowView> parseRow(std::string_view bytes) {
  ByteReader r(bytes);
  TANDEM_ASSIGN_OR_RETURN(uint8_t format, r.u8("row format"));
  if (format != kRowFormat) {
    return fail("unknown row format " + std::to_string(format) + " (this build reads " +
                std::to_string(kRowFormat) + ")");
  }
  RowView row;
  TANDEM_ASSIGN_OR_RETURN(row.record, r.strView("row record"));
  if (row.record.empty()) {
    return fail("corrupt value: row without a record");
  }
  int last = -1;
  while (!r.atEnd()) {
    TANDEM_ASSIGN_OR_RETURN(uint8_t system, r.u8("row shadow system"));
    if (system >= conflict::kMaxActors || static_cast<int>(system) <= last) {
      return fail("corrupt value: row shadow of system " + std::to_string(system) +
                  (system >= conflict::kMaxActors ? " out of range" : " out of order"));
    }
    last = system;
    TANDEM_ASSIGN_OR_RETURN(row.shadows[system], r.strView("row shadow"));
    row.systems |= 1u << system;
  }
  return row;
}

std::string assembleRow(std::string_view record,
                        const std::array<std::string, conflict::kMaxActors>& shadows,
                        uint32_t systems) {
  size_t size = 1 + 5 + record.size();
  for (size_t s = 0; s < conflict::kMaxActors; ++s) {
    size += (systems >> s & 1u) != 0 ? 1 + 5 + shadows[s].size() : 0;
  }
  std::string out;
  out.reserve(size);
  ByteWriter w(out);
  w.u8(kRowFormat);
  w.str(record);
  for (size_t s = 0; s < conflict::kMaxActors; ++s) {
    if ((systems >> s & 1u) != 0) {
      w.u8(static_cast<uint8_t>(s));
      w.str(shadows[s]);
    }
  }
  return out;
}

Result<conflict::Shadow> decodeRowShadowOf(const RowView& row, size_t system,
                                           const conflict::ShadowBase& base,
                                           conflict::NameTable* names) {
  auto shadow = conflict::decodeShadowAgainst(row.shadows[system], base, names);
  if (!shadow) {
    return failWith("shadow of system " + std::to_string(system), shadow.error());
  }
  return shadow;
}

Result<RecordRow> decodeRow(std::string_view bytes, uint32_t systems, conflict::NameTable* names) {
  TANDEM_ASSIGN_OR_RETURN(RowView view, parseRow(bytes));
  RecordRow row;
  TANDEM_ASSIGN_OR_RETURN(row.record, conflict::decodeRecord(view.record, names));
  systems &= view.systems;
  if (systems == 0) {
    return row;
  }
  const conflict::ShadowBase base = conflict::ShadowBase::of(row.record);
  for (size_t s = 0; s < conflict::kMaxActors; ++s) {
    if ((systems >> s & 1u) != 0) {
      TANDEM_ASSIGN_OR_RETURN(row.shadows[s], decodeRowShadowOf(view, s, base, names));
    }
  }
  return row;
}

Result<std::optional<conflict::Shadow>> decodeRowShadow(std::string_view bytes, ActorId system,
                                                        conflict::NameTable* names) {
  TANDEM_ASSIGN_OR_RETURN(RowView view, parseRow(bytes));
  if (system >= conflict::kMaxActors || (view.systems >> system & 1u) == 0) {
    return std::nullopt;
  }
  TANDEM_ASSIGN_OR_RETURN(auto base, conflict::ShadowBase::read(view.record, names));
  return decodeRowShadowOf(view, system, base, names);
}

}  // namespace tandem::state
