#include "conflict/codec.h"

#include <cstdint>

#include "conflict/bytes.h"

namespace tandem::conflict {

namespace {

constexpr uint8_t kRecordFormat = 1;
constexpr uint8_t kShadowFormat = 1;
constexpr uint8_t kConflictFormat = 1;

Status expectFormat(ByteReader& r, uint8_t want, const char* what) {
  TANDEM_ASSIGN_OR_RETURN(uint8_t got, r.u8(what));
  if (got != want) {
    return fail(std::string("unknown ") + what + " " + std::to_string(got) + " (this build reads " +
                std::to_string(want) + ")");
  }
  return {};
}

Status expectEnd(const ByteReader& r, const char* what) {
  if (!r.atEnd()) {
    return fail(std::string("corrupt value: ") + std::to_string(r.remaining()) +
                " trailing bytes after " + what);
  }
  return {};
}

Result<ActorId> readActor(ByteReader& r, const char* what) {
  TANDEM_ASSIGN_OR_RETURN(uint8_t a, r.u8(what));
  if (a >= kMaxActors) {
    return fail(std::string("corrupt value: ") + what + " " + std::to_string(a) + " out of range");
  }
  return a;
}

Result<uint64_t> readCount(ByteReader& r, const char* what) {
  TANDEM_ASSIGN_OR_RETURN(uint64_t n, r.varint(what));
  if (n > r.remaining()) {  // every element takes at least one byte
    return fail(std::string("corrupt value: ") + what + " " + std::to_string(n) + " exceeds " +
                std::to_string(r.remaining()) + " remaining bytes");
  }
  return n;
}

void writeShadowField(ByteWriter& w, const ShadowField& f) {
  w.fixed64(f.hash);
  f.vv.encode(w);
  w.varint(f.pending.size());
  for (const auto& p : f.pending) {
    w.fixed64(p.hash);
    p.vv.encode(w);
  }
}

Result<ShadowField> readShadowField(ByteReader& r) {
  ShadowField f;
  TANDEM_ASSIGN_OR_RETURN(f.hash, r.fixed64("shadow hash"));
  TANDEM_ASSIGN_OR_RETURN(f.vv, VersionVector::decode(r));
  TANDEM_ASSIGN_OR_RETURN(uint64_t n, readCount(r, "pending write count"));
  f.pending.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    PendingWrite p;
    TANDEM_ASSIGN_OR_RETURN(p.hash, r.fixed64("pending hash"));
    TANDEM_ASSIGN_OR_RETURN(p.vv, VersionVector::decode(r));
    f.pending.push_back(std::move(p));
  }
  return f;
}

}  // namespace

const char* policyName(PolicyKind p) {
  switch (p) {
    case PolicyKind::Lww:
      return "lww";
    case PolicyKind::Prefer:
      return "prefer";
    case PolicyKind::Manual:
      return "manual";
    case PolicyKind::Max:
      return "max";
    case PolicyKind::Min:
      return "min";
    case PolicyKind::Union:
      return "union";
  }
  return "unknown";
}

std::string encodeRecord(const Record& rec) {
  std::string out;
  out.reserve(64 + rec.fields.size() * 48);
  ByteWriter w(out);
  w.u8(kRecordFormat);
  w.str(rec.id);
  w.str(rec.entity);
  w.u8(rec.tombstone.deleted ? 1 : 0);
  rec.tombstone.vv.encode(w);
  w.u8(rec.tombstone.source);
  w.svarint(rec.tombstone.ts_ms);
  w.varint(rec.tombstone.open_conflict);
  w.varint(rec.fields.size());
  for (const auto& [name, f] : rec.fields) {
    w.str(name);
    f.value.encode(w);
    f.vv.encode(w);
    w.u8(f.source);
    w.svarint(f.source_ts_ms);
    w.varint(f.open_conflict);
    w.varint(f.last_conflict);
    w.fixed64(f.prev_hash);
    w.varint(f.flips);
    w.svarint(f.flip_window_start_ms);
  }
  return out;
}

Result<Record> decodeRecord(std::string_view bytes) {
  ByteReader r(bytes);
  TANDEM_RETURN_IF_ERROR(expectFormat(r, kRecordFormat, "record format"));
  Record rec;
  TANDEM_ASSIGN_OR_RETURN(rec.id, r.str("record id"));
  TANDEM_ASSIGN_OR_RETURN(rec.entity, r.str("entity"));
  TANDEM_ASSIGN_OR_RETURN(uint8_t del, r.u8("tombstone flag"));
  if (del > 1) {
    return fail("corrupt value: tombstone flag " + std::to_string(del));
  }
  rec.tombstone.deleted = del == 1;
  TANDEM_ASSIGN_OR_RETURN(rec.tombstone.vv, VersionVector::decode(r));
  TANDEM_ASSIGN_OR_RETURN(rec.tombstone.source, readActor(r, "tombstone source"));
  TANDEM_ASSIGN_OR_RETURN(rec.tombstone.ts_ms, r.svarint("tombstone time"));
  TANDEM_ASSIGN_OR_RETURN(rec.tombstone.open_conflict, r.varint("tombstone open conflict id"));
  TANDEM_ASSIGN_OR_RETURN(uint64_t n, readCount(r, "field count"));
  rec.fields.reserve(n);
  std::string prev;
  for (uint64_t i = 0; i < n; ++i) {
    TANDEM_ASSIGN_OR_RETURN(std::string name, r.str("field name"));
    if (i > 0 && name <= prev) {
      return fail("corrupt value: field names out of order at \"" + name + "\"");
    }
    FieldState& f = rec.fields[name];
    TANDEM_ASSIGN_OR_RETURN(f.value, Value::decode(r));
    TANDEM_ASSIGN_OR_RETURN(f.vv, VersionVector::decode(r));
    TANDEM_ASSIGN_OR_RETURN(f.source, readActor(r, "field source"));
    TANDEM_ASSIGN_OR_RETURN(f.source_ts_ms, r.svarint("field time"));
    TANDEM_ASSIGN_OR_RETURN(f.open_conflict, r.varint("open conflict id"));
    TANDEM_ASSIGN_OR_RETURN(f.last_conflict, r.varint("last conflict id"));
    TANDEM_ASSIGN_OR_RETURN(f.prev_hash, r.fixed64("previous value hash"));
    TANDEM_ASSIGN_OR_RETURN(uint64_t flips, r.varint("flip count"));
    if (flips > UINT32_MAX) {
      return fail("corrupt value: flip count " + std::to_string(flips));
    }
    f.flips = static_cast<uint32_t>(flips);
    TANDEM_ASSIGN_OR_RETURN(f.flip_window_start_ms, r.svarint("flip window start"));
    prev = std::move(name);
  }
  TANDEM_RETURN_IF_ERROR(expectEnd(r, "record"));
  return rec;
}

std::string encodeShadow(const Shadow& s) {
  std::string out;
  out.reserve(32 + s.fields.size() * 40);
  ByteWriter w(out);
  w.u8(kShadowFormat);
  writeShadowField(w, s.tombstone);
  w.str(s.version_token);
  w.svarint(s.source_ts_ms);
  w.varint(s.fields.size());
  for (const auto& [name, f] : s.fields) {
    w.str(name);
    writeShadowField(w, f);
  }
  return out;
}

Result<Shadow> decodeShadow(std::string_view bytes) {
  ByteReader r(bytes);
  TANDEM_RETURN_IF_ERROR(expectFormat(r, kShadowFormat, "shadow format"));
  Shadow s;
  TANDEM_ASSIGN_OR_RETURN(s.tombstone, readShadowField(r));
  TANDEM_ASSIGN_OR_RETURN(s.version_token, r.str("version token"));
  TANDEM_ASSIGN_OR_RETURN(s.source_ts_ms, r.svarint("shadow time"));
  TANDEM_ASSIGN_OR_RETURN(uint64_t n, readCount(r, "shadow field count"));
  s.fields.reserve(n);
  std::string prev;
  for (uint64_t i = 0; i < n; ++i) {
    TANDEM_ASSIGN_OR_RETURN(std::string name, r.str("shadow field name"));
    if (i > 0 && name <= prev) {
      return fail("corrupt value: shadow field names out of order at \"" + name + "\"");
    }
    TANDEM_ASSIGN_OR_RETURN(s.fields[name], readShadowField(r));
    prev = std::move(name);
  }
  TANDEM_RETURN_IF_ERROR(expectEnd(r, "shadow"));
  return s;
}

std::string encodeConflict(const ConflictEntry& c) {
  std::string out;
  ByteWriter w(out);
  w.u8(kConflictFormat);
  w.varint(c.id);
  w.str(c.record);
  w.str(c.entity);
  w.str(c.field);
  w.varint(c.sides.size());
  for (const auto& side : c.sides) {
    w.u8(side.system);
    side.value.encode(w);
    side.vv.encode(w);
    w.svarint(side.ts_ms);
  }
  w.u8(static_cast<uint8_t>(c.policy));
  c.outcome.encode(w);
  c.outcome_vv.encode(w);
  w.u8(c.open ? 1 : 0);
  w.svarint(c.created_ms);
  w.svarint(c.resolved_ms);
  w.str(c.note);
  return out;
}

Result<ConflictEntry> decodeConflict(std::string_view bytes) {
  ByteReader r(bytes);
  TANDEM_RETURN_IF_ERROR(expectFormat(r, kConflictFormat, "conflict format"));
  ConflictEntry c;
  TANDEM_ASSIGN_OR_RETURN(c.id, r.varint("conflict id"));
  TANDEM_ASSIGN_OR_RETURN(c.record, r.str("conflict record id"));
  TANDEM_ASSIGN_OR_RETURN(c.entity, r.str("conflict entity"));
  TANDEM_ASSIGN_OR_RETURN(c.field, r.str("conflict field"));
  TANDEM_ASSIGN_OR_RETURN(uint64_t n, readCount(r, "conflict side count"));
  for (uint64_t i = 0; i < n; ++i) {
    ConflictSide side;
    TANDEM_ASSIGN_OR_RETURN(side.system, readActor(r, "conflict side system"));
    TANDEM_ASSIGN_OR_RETURN(side.value, Value::decode(r));
    TANDEM_ASSIGN_OR_RETURN(side.vv, VersionVector::decode(r));
    TANDEM_ASSIGN_OR_RETURN(side.ts_ms, r.svarint("conflict side time"));
    c.sides.push_back(std::move(side));
  }
  TANDEM_ASSIGN_OR_RETURN(uint8_t policy, r.u8("conflict policy"));
  if (policy > static_cast<uint8_t>(PolicyKind::Union)) {
    return fail("corrupt value: conflict policy " + std::to_string(policy));
  }
  c.policy = static_cast<PolicyKind>(policy);
  TANDEM_ASSIGN_OR_RETURN(c.outcome, Value::decode(r));
  TANDEM_ASSIGN_OR_RETURN(c.outcome_vv, VersionVector::decode(r));
  TANDEM_ASSIGN_OR_RETURN(uint8_t open, r.u8("conflict open flag"));
  if (open > 1) {
    return fail("corrupt value: conflict open flag " + std::to_string(open));
  }
  c.open = open == 1;
  TANDEM_ASSIGN_OR_RETURN(c.created_ms, r.svarint("conflict created time"));
  TANDEM_ASSIGN_OR_RETURN(c.resolved_ms, r.svarint("conflict resolved time"));
  TANDEM_ASSIGN_OR_RETURN(c.note, r.str("conflict note"));
  TANDEM_RETURN_IF_ERROR(expectEnd(r, "conflict"));
  return c;
}

}  // namespace tandem::conflict
