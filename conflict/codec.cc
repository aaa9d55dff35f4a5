#include "conflict/codec.h"

#include <xxhash.h>

#include <bit>
#include <cstdint>

#include "conflict/bytes.h"

namespace tandem::conflict {

namespace {

// Records and shadows are written in format 2 and read in formats 1 and 2, so a store written
// by an older build keeps working; each value is rewritten in format 2 the next time it
// changes. Format 2 keeps format 1's fields and order, but writes each per-field version vector
// as its difference from the one before it in the value (a batch ticks a record's fields one
// after another, so consecutive counters differ by a few: one byte instead of six), a field's
// source time as the difference from the previous field's, and a field's rarely set conflict
// and oscillation data behind a flags byte. That takes a 12-field customer record from about
// 555 bytes to about 300 and a shadow from about 270 to about 210.
//
// Format 3 is format 2 with each field name (and a record's entity) written as its number in the
// store's name table (NameTable) instead of in full: about 95 bytes less per customer record and
// per shadow. Written only with a name table; format 2 remains for callers without one.
constexpr uint8_t kRecordFormatV1 = 1;
constexpr uint8_t kRecordFormat = 2;
constexpr uint8_t kShadowFormatV1 = 1;
constexpr uint8_t kShadowFormat = 2;
constexpr uint8_t kNumberedNames = 3;        // records and shadows
constexpr uint8_t kShadowAgainstRecord = 4;  // shadows: the fields that differ from the record
constexpr uint8_t kConflictFormat = 1;

// Format 2 field flags: which optional parts follow, and how the previous-value hash is stored.
constexpr uint8_t kHasOpenConflict = 1 << 0;
constexpr uint8_t kHasLastConflict = 1 << 1;
constexpr uint8_t kHasFlips = 1 << 2;      // flip count and window start follow
constexpr uint8_t kPrevHashZero = 1 << 3;  // no previous value recorded
constexpr uint8_t kPrevHashNull = 1 << 4;  // the previous value was null (a new field)
constexpr uint8_t kKnownFieldFlags = (1 << 5) - 1;

Status expectFormat(ByteReader& r, uint8_t want, const char* what) {
  TANDEM_ASSIGN_OR_RETURN(uint8_t got, r.u8(what));
  if (got != want) {
    return fail(std::string("unknown ") + what + " " + std::to_string(got) + " (this build reads " +
                std::to_string(want) + ")");
  }
  return {};
}

// Reads a record's or shadow's format byte (1 to 3); format 3 needs a name table.
Result<uint8_t> readFormat(ByteReader& r, const NameTable* names, const char* what) {
  TANDEM_ASSIGN_OR_RETURN(uint8_t got, r.u8(what));
  if (got < 1 || got > kNumberedNames) {
    return fail(std::string("unknown ") + what + " " + std::to_string(got) +
                " (this build reads 1 to " + std::to_string(kNumberedNames) + ")");
  }
  if (got == kNumberedNames && names == nullptr) {
    return fail(std::string(what) + " 3 names its fields by number, and no name table was given");
  }
  return got;
}

// Writes a name in full (format 2, `names` null) or as its number (format 3).
Status writeName(ByteWriter& w, std::string_view name, NameTable* names) {
  if (names == nullptr) {
    w.str(name);
    return {};
  }
  TANDEM_ASSIGN_OR_RETURN(uint32_t n, names->number(name));
  w.varint(n);
  return {};
}

// A name as a view into the value (format 2) or into the name table (format 3).
Result<std::string_view> readNameView(ByteReader& r, NameTable* numbered, const char* what) {
  if (numbered == nullptr) {
    return r.strView(what);
  }
  TANDEM_ASSIGN_OR_RETURN(uint64_t n, r.varint(what));
  const std::string* name = n <= UINT32_MAX ? numbered->name(static_cast<uint32_t>(n)) : nullptr;
  if (name == nullptr) {
    return fail(std::string("corrupt value: ") + what + " number " + std::to_string(n) +
                " is not in the name table");
  }
  return std::string_view(*name);
}

Result<std::string> readName(ByteReader& r, NameTable* numbered, const char* what) {
  TANDEM_ASSIGN_OR_RETURN(std::string_view name, readNameView(r, numbered, what));
  return std::string(name);
}

uint64_t nullHash() {
  static const uint64_t h = Value::null().hash();
  return h;
}

// A version vector as the difference from `base`: the mask of present actors, then per present
// actor the zigzag difference from base's counter (modulo 2^64, so every vector round-trips).
void writeVvDelta(ByteWriter& w, const VersionVector& v, const VersionVector& base) {
  uint32_t mask = 0;
  for (size_t i = 0; i < kMaxActors; ++i) {
    if (v.get(static_cast<ActorId>(i)) != 0) {
      mask |= 1u << i;
    }
  }
  w.varint(mask);
  for (size_t i = 0; i < kMaxActors; ++i) {
    auto a = static_cast<ActorId>(i);
    if (v.get(a) != 0) {
      w.svarint(static_cast<int64_t>(v.get(a) - base.get(a)));
    }
  }
}

// Into `out` (all zero), which may not be `base`: decoders fill values in place rather than
// returning 128-byte vectors through Results.
Status readVvDeltaInto(ByteReader& r, const VersionVector& base, VersionVector& out) {
  TANDEM_ASSIGN_OR_RETURN(uint64_t mask, r.varint("version vector mask"));
  if (mask >> kMaxActors) {
    return fail("corrupt value: version vector names actor >= " + std::to_string(kMaxActors));
  }
  for (; mask != 0; mask &= mask - 1) {
    const auto a = static_cast<ActorId>(std::countr_zero(mask));
    TANDEM_ASSIGN_OR_RETURN(int64_t d, r.svarint("version vector counter"));
    uint64_t c = base.get(a) + static_cast<uint64_t>(d);
    if (c == 0) {
      return fail("corrupt value: version vector has a zero counter marked present");
    }
    out.set(a, c);
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

// Format 2: the field's vector as the difference from `base` (the previous field's), each
// pending write's as the difference from the field's.
void writeShadowField(ByteWriter& w, const ShadowField& f, const VersionVector& base) {
  w.fixed64(f.hash);
  writeVvDelta(w, f.vv, base);
  w.varint(f.pending.size());
  for (const auto& p : f.pending) {
    w.fixed64(p.hash);
    writeVvDelta(w, p.vv, f.vv);
  }
}

// A vector as the difference from `*base`, or stored whole when `base` is null (format 1).
Status readVvInto(ByteReader& r, const VersionVector* base, VersionVector& out) {
  if (base != nullptr) {
    return readVvDeltaInto(r, *base, out);
  }
  TANDEM_ASSIGN_OR_RETURN(out, VersionVector::decode(r));
  return {};
}

// Into `f` (default-constructed). `base` is null for format 1 (vectors stored whole).
Status readShadowFieldInto(ByteReader& r, const VersionVector* base, ShadowField& f) {
  TANDEM_ASSIGN_OR_RETURN(f.hash, r.fixed64("shadow hash"));
  TANDEM_RETURN_IF_ERROR(readVvInto(r, base, f.vv));
  TANDEM_ASSIGN_OR_RETURN(uint64_t n, readCount(r, "pending write count"));
  f.pending.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    PendingWrite& p = f.pending.emplace_back();
    TANDEM_ASSIGN_OR_RETURN(p.hash, r.fixed64("pending hash"));
    TANDEM_RETURN_IF_ERROR(readVvInto(r, base != nullptr ? &f.vv : nullptr, p.vv));
  }
  return {};
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

namespace {

Result<std::string> writeRecord(const Record& rec, NameTable* names) {
  std::string out;
  out.reserve(64 + rec.fields.size() * 32);
  ByteWriter w(out);
  w.u8(names != nullptr ? kNumberedNames : kRecordFormat);
  w.str(rec.id);
  TANDEM_RETURN_IF_ERROR(writeName(w, rec.entity, names));
  w.u8(rec.tombstone.deleted ? 1 : 0);
  rec.tombstone.vv.encode(w);
  w.u8(rec.tombstone.source);
  w.svarint(rec.tombstone.ts_ms);
  w.varint(rec.tombstone.open_conflict);
  w.varint(rec.fields.size());
  const VersionVector none;
  const VersionVector* prev_vv = &none;
  int64_t prev_ts = 0;
  const uint64_t null_hash = nullHash();
  for (const auto& [name, f] : rec.fields) {
    TANDEM_RETURN_IF_ERROR(writeName(w, name, names));
    f.value.encode(w);
    writeVvDelta(w, f.vv, *prev_vv);
    w.u8(f.source);
    w.svarint(static_cast<int64_t>(static_cast<uint64_t>(f.source_ts_ms) -
                                   static_cast<uint64_t>(prev_ts)));
    uint8_t flags = 0;
    flags |= f.open_conflict != 0 ? kHasOpenConflict : 0;
    flags |= f.last_conflict != 0 ? kHasLastConflict : 0;
    flags |= (f.flips != 0 || f.flip_window_start_ms != 0) ? kHasFlips : 0;
    flags |= f.prev_hash == 0 ? kPrevHashZero : (f.prev_hash == null_hash ? kPrevHashNull : 0);
    w.u8(flags);
    if ((flags & kHasOpenConflict) != 0) {
      w.varint(f.open_conflict);
    }
    if ((flags & kHasLastConflict) != 0) {
      w.varint(f.last_conflict);
    }
    if ((flags & (kPrevHashZero | kPrevHashNull)) == 0) {
      w.fixed64(f.prev_hash);
    }
    if ((flags & kHasFlips) != 0) {
      w.varint(f.flips);
      w.svarint(f.flip_window_start_ms);
    }
    prev_vv = &f.vv;
    prev_ts = f.source_ts_ms;
  }
  return out;
}

}  // namespace

std::string encodeRecord(const Record& rec) {
  return *writeRecord(rec, nullptr);  // without a name table nothing can fail
}

Result<std::string> encodeRecord(const Record& rec, NameTable& names) {
  return writeRecord(rec, &names);
}

namespace {

Result<uint32_t> readFlips(ByteReader& r) {
  TANDEM_ASSIGN_OR_RETURN(uint64_t flips, r.varint("flip count"));
  if (flips > UINT32_MAX) {
    return fail("corrupt value: flip count " + std::to_string(flips));
  }
  return static_cast<uint32_t>(flips);
}

Status readFieldV1(ByteReader& r, FieldState& f) {
  TANDEM_ASSIGN_OR_RETURN(f.vv, VersionVector::decode(r));
  TANDEM_ASSIGN_OR_RETURN(f.source, readActor(r, "field source"));
  TANDEM_ASSIGN_OR_RETURN(f.source_ts_ms, r.svarint("field time"));
  TANDEM_ASSIGN_OR_RETURN(f.open_conflict, r.varint("open conflict id"));
  TANDEM_ASSIGN_OR_RETURN(f.last_conflict, r.varint("last conflict id"));
  TANDEM_ASSIGN_OR_RETURN(f.prev_hash, r.fixed64("previous value hash"));
  TANDEM_ASSIGN_OR_RETURN(f.flips, readFlips(r));
  TANDEM_ASSIGN_OR_RETURN(f.flip_window_start_ms, r.svarint("flip window start"));
  return {};
}

Status readFieldV2(ByteReader& r, FieldState& f, const VersionVector& prev_vv, int64_t prev_ts) {
  TANDEM_RETURN_IF_ERROR(readVvDeltaInto(r, prev_vv, f.vv));
  TANDEM_ASSIGN_OR_RETURN(f.source, readActor(r, "field source"));
  TANDEM_ASSIGN_OR_RETURN(int64_t dt, r.svarint("field time"));
  f.source_ts_ms = static_cast<int64_t>(static_cast<uint64_t>(prev_ts) + static_cast<uint64_t>(dt));
  TANDEM_ASSIGN_OR_RETURN(uint8_t flags, r.u8("field flags"));
  if ((flags & ~kKnownFieldFlags) != 0 || (flags & kPrevHashZero && flags & kPrevHashNull)) {
    return fail("corrupt value: field flags " + std::to_string(flags));
  }
  if ((flags & kHasOpenConflict) != 0) {
    TANDEM_ASSIGN_OR_RETURN(f.open_conflict, r.varint("open conflict id"));
  }
  if ((flags & kHasLastConflict) != 0) {
    TANDEM_ASSIGN_OR_RETURN(f.last_conflict, r.varint("last conflict id"));
  }
  if ((flags & kPrevHashNull) != 0) {
    f.prev_hash = nullHash();
  } else if ((flags & kPrevHashZero) == 0) {
    TANDEM_ASSIGN_OR_RETURN(f.prev_hash, r.fixed64("previous value hash"));
  }
  if ((flags & kHasFlips) != 0) {
    TANDEM_ASSIGN_OR_RETURN(f.flips, readFlips(r));
    TANDEM_ASSIGN_OR_RETURN(f.flip_window_start_ms, r.svarint("flip window start"));
  }
  return {};
}

}  // namespace

Result<Record> decodeRecord(std::string_view bytes, NameTable* names) {
  ByteReader r(bytes);
  TANDEM_ASSIGN_OR_RETURN(uint8_t format, readFormat(r, names, "record format"));
  NameTable* numbered = format == kNumberedNames ? names : nullptr;
  Record rec;
  TANDEM_ASSIGN_OR_RETURN(rec.id, r.str("record id"));
  TANDEM_ASSIGN_OR_RETURN(rec.entity, readName(r, numbered, "entity"));
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
  rec.fields.reserve(n);  // (the previous field's vector stays where it is while fields are added)
  const VersionVector none;
  const VersionVector* prev_vv = &none;  // format 2: the previous field's vector and time
  int64_t prev_ts = 0;
  for (uint64_t i = 0; i < n; ++i) {
    TANDEM_ASSIGN_OR_RETURN(std::string name, readName(r, numbered, "field name"));
    if (i > 0 && name <= rec.fields.back().first) {
      return fail("corrupt value: field names out of order at \"" + name + "\"");
    }
    FieldState& f = rec.fields.append(std::move(name), FieldState{});
    TANDEM_ASSIGN_OR_RETURN(f.value, Value::decode(r));
    if (format == kRecordFormatV1) {
      TANDEM_RETURN_IF_ERROR(readFieldV1(r, f));
    } else {
      TANDEM_RETURN_IF_ERROR(readFieldV2(r, f, *prev_vv, prev_ts));
      prev_vv = &f.vv;
      prev_ts = f.source_ts_ms;
    }
  }
  TANDEM_RETURN_IF_ERROR(expectEnd(r, "record"));
  return rec;
}

namespace {

Result<std::string> writeShadow(const Shadow& s, NameTable* names) {
  std::string out;
  out.reserve(32 + s.fields.size() * 32);
  ByteWriter w(out);
  w.u8(names != nullptr ? kNumberedNames : kShadowFormat);
  const VersionVector none;
  writeShadowField(w, s.tombstone, none);
  w.str(s.version_token);
  w.svarint(s.source_ts_ms);
  w.varint(s.fields.size());
  const VersionVector* prev_vv = &s.tombstone.vv;
  for (const auto& [name, f] : s.fields) {
    TANDEM_RETURN_IF_ERROR(writeName(w, name, names));
    writeShadowField(w, f, *prev_vv);
    prev_vv = &f.vv;
  }
  return out;
}

}  // namespace

std::string encodeShadow(const Shadow& s) {
  return *writeShadow(s, nullptr);  // without a name table nothing can fail
}

Result<std::string> encodeShadow(const Shadow& s, NameTable& names) {
  return writeShadow(s, &names);
}

Result<Shadow> decodeShadow(std::string_view bytes, NameTable* names) {
  ByteReader r(bytes);
  TANDEM_ASSIGN_OR_RETURN(uint8_t format, readFormat(r, names, "shadow format"));
  const bool v1 = format == kShadowFormatV1;
  NameTable* numbered = format == kNumberedNames ? names : nullptr;
  Shadow s;
  const VersionVector none;
  TANDEM_RETURN_IF_ERROR(readShadowFieldInto(r, v1 ? nullptr : &none, s.tombstone));
  TANDEM_ASSIGN_OR_RETURN(s.version_token, r.str("version token"));
  TANDEM_ASSIGN_OR_RETURN(s.source_ts_ms, r.svarint("shadow time"));
  TANDEM_ASSIGN_OR_RETURN(uint64_t n, readCount(r, "shadow field count"));
  s.fields.reserve(n);  // (the previous field's vector stays where it is while fields are added)
  const VersionVector* prev_vv = &s.tombstone.vv;
  for (uint64_t i = 0; i < n; ++i) {
    TANDEM_ASSIGN_OR_RETURN(std::string name, readName(r, numbered, "shadow field name"));
    if (i > 0 && name <= s.fields.back().first) {
      return fail("corrupt value: shadow field names out of order at \"" + name + "\"");
    }
    ShadowField& f = s.fields.append(std::move(name), ShadowField{});
    TANDEM_RETURN_IF_ERROR(readShadowFieldInto(r, v1 ? nullptr : prev_vv, f));
    prev_vv = &f.vv;
  }
  TANDEM_RETURN_IF_ERROR(expectEnd(r, "shadow"));
  return s;
}

ShadowBase ShadowBase::of(const Record& r) {
  ShadowBase b;
  b.fields.reserve(r.fields.size());
  for (const auto& [name, f] : r.fields) {
    b.fields.push_back(Field{name, f.value.hash(), f.vv});
  }
  b.tombstone_hash = Value::boolean(r.tombstone.deleted).hash();
  b.tombstone_vv = r.tombstone.vv;
  return b;
}

// decodeRecord's reading, keeping of each field only its name, its value's hash and its vector.
// The hash is of the value's bytes as stored, which are what Value::hash hashes: the encoding
// the store wrote them in.
Result<ShadowBase> ShadowBase::read(std::string_view bytes, NameTable* names) {
  ByteReader r(bytes);
  TANDEM_ASSIGN_OR_RETURN(uint8_t format, readFormat(r, names, "record format"));
  NameTable* numbered = format == kNumberedNames ? names : nullptr;
  ShadowBase b;
  TANDEM_RETURN_IF_ERROR(r.strView("record id"));
  TANDEM_RETURN_IF_ERROR(readNameView(r, numbered, "entity"));
  TANDEM_ASSIGN_OR_RETURN(uint8_t del, r.u8("tombstone flag"));
  if (del > 1) {
    return fail("corrupt value: tombstone flag " + std::to_string(del));
  }
  b.tombstone_hash = Value::boolean(del == 1).hash();
  TANDEM_ASSIGN_OR_RETURN(b.tombstone_vv, VersionVector::decode(r));
  TANDEM_RETURN_IF_ERROR(readActor(r, "tombstone source"));
  TANDEM_RETURN_IF_ERROR(r.svarint("tombstone time"));
  TANDEM_RETURN_IF_ERROR(r.varint("tombstone open conflict id"));
  TANDEM_ASSIGN_OR_RETURN(uint64_t n, readCount(r, "field count"));
  b.fields.reserve(n);
  const VersionVector none;
  int64_t prev_ts = 0;
  FieldState scratch;  // the parts of a field the base does not keep
  for (uint64_t i = 0; i < n; ++i) {
    TANDEM_ASSIGN_OR_RETURN(std::string_view name, readNameView(r, numbered, "field name"));
    if (i > 0 && name <= b.fields.back().name) {
      return fail("corrupt value: field names out of order at \"" + std::string(name) + "\"");
    }
    const size_t from = r.position();
    TANDEM_RETURN_IF_ERROR(Value::skip(r));
    const std::string_view value = bytes.substr(from, r.position() - from);
    scratch.vv = VersionVector{};  // read into whole (format 1) or as a delta (all zero)
    if (format == kRecordFormatV1) {
      TANDEM_RETURN_IF_ERROR(readFieldV1(r, scratch));
    } else {
      const VersionVector& prev_vv = i > 0 ? b.fields.back().vv : none;
      TANDEM_RETURN_IF_ERROR(readFieldV2(r, scratch, prev_vv, prev_ts));
      prev_ts = scratch.source_ts_ms;
    }
    b.fields.push_back(Field{name, XXH3_64bits(value.data(), value.size()), scratch.vv});
  }
  TANDEM_RETURN_IF_ERROR(expectEnd(r, "record"));
  return b;
}

namespace {

// How format 4 writes a shadow field (and the tombstone) against the record's: two bits each.
enum class AsRecord : uint8_t {
  No = 0,       // written apart in full (or, for a record field, not held by the shadow)
  Settled = 1,  // the record's value at the record's vector, nothing pending
  // Not confirmed yet (hash 0, no vector) with the record's value at its vector pending: what a
  // create or re-create queues for every field it sends.
  Sending = 2,
};

AsRecord asRecord(const ShadowField& f, uint64_t hash, const VersionVector& vv) {
  if (f.pending.empty()) {
    return f.hash == hash && f.vv == vv ? AsRecord::Settled : AsRecord::No;
  }
  if (f.pending.size() == 1 && f.hash == 0 && f.vv.empty() && f.pending[0].hash == hash &&
      f.pending[0].vv == vv) {
    return AsRecord::Sending;
  }
  return AsRecord::No;
}

void fillAsRecord(ShadowField& f, AsRecord code, uint64_t hash, const VersionVector& vv) {
  if (code == AsRecord::Settled) {
    f.hash = hash;
    f.vv = vv;
  } else {
    f.pending.push_back(PendingWrite{hash, vv});
  }
}

}  // namespace

// Format 4: the format byte; the tombstone's code; the tombstone unless its code says it is the
// record's; version token and time; the record's field count and a code per record field (two
// bits, AsRecord); then the shadow's other fields, each with its vectors as the difference from
// the record field's (or whole, for a field the record lacks).
Result<std::string> encodeShadowAgainst(const Shadow& s, const ShadowBase& base, NameTable& names) {
  std::string out;
  ByteWriter w(out);
  w.u8(kShadowAgainstRecord);
  const AsRecord tomb = asRecord(s.tombstone, base.tombstone_hash, base.tombstone_vv);
  w.u8(static_cast<uint8_t>(tomb));
  const VersionVector none;
  if (tomb == AsRecord::No) {
    writeShadowField(w, s.tombstone, none);
  }
  w.str(s.version_token);
  w.svarint(s.source_ts_ms);
  const size_t n = base.fields.size();
  std::string codes((2 * n + 7) / 8, '\0');
  struct Apart {
    const std::string* name;
    const ShadowField* field;
    const VersionVector* vv_base;
  };
  std::vector<Apart> apart;
  size_t j = 0;
  for (const auto& [name, f] : s.fields) {
    while (j < n && base.fields[j].name < name) {
      ++j;
    }
    const bool in_record = j < n && base.fields[j].name == name;
    const AsRecord code =
        in_record ? asRecord(f, base.fields[j].hash, base.fields[j].vv) : AsRecord::No;
    if (code != AsRecord::No) {
      codes[j / 4] = static_cast<char>(static_cast<uint8_t>(codes[j / 4]) |
                                       static_cast<uint8_t>(code) << (2 * (j % 4)));
      continue;
    }
    apart.push_back({&name, &f, in_record ? &base.fields[j].vv : &none});
  }
  w.varint(n);
  out += codes;
  w.varint(apart.size());
  for (const auto& a : apart) {
    TANDEM_RETURN_IF_ERROR(writeName(w, *a.name, &names));
    writeShadowField(w, *a.field, *a.vv_base);
  }
  return out;
}

Result<Shadow> decodeShadowAgainst(std::string_view bytes, const ShadowBase& base,
                                   NameTable* names) {
  if (!bytes.empty() && (bytes[0] == 0 || static_cast<uint8_t>(bytes[0]) > kShadowAgainstRecord)) {
    return fail("unknown shadow format " + std::to_string(static_cast<uint8_t>(bytes[0])) +
                " (this build reads 1 to 4)");
  }
  if (bytes.empty() || static_cast<uint8_t>(bytes[0]) != kShadowAgainstRecord) {
    return decodeShadow(bytes, names);  // formats 1 to 3; its errors name the rest
  }
  if (names == nullptr) {
    return fail("shadow format 4 names its fields by number, and no name table was given");
  }
  ByteReader r(bytes.substr(1));
  TANDEM_ASSIGN_OR_RETURN(uint8_t tomb, r.u8("shadow tombstone code"));
  if (tomb > static_cast<uint8_t>(AsRecord::Sending)) {
    return fail("corrupt value: shadow tombstone code " + std::to_string(tomb));
  }
  Shadow s;
  const VersionVector none;
  if (tomb == static_cast<uint8_t>(AsRecord::No)) {
    TANDEM_RETURN_IF_ERROR(readShadowFieldInto(r, &none, s.tombstone));
  } else {
    fillAsRecord(s.tombstone, static_cast<AsRecord>(tomb), base.tombstone_hash, base.tombstone_vv);
  }
  TANDEM_ASSIGN_OR_RETURN(s.version_token, r.str("version token"));
  TANDEM_ASSIGN_OR_RETURN(s.source_ts_ms, r.svarint("shadow time"));
  TANDEM_ASSIGN_OR_RETURN(uint64_t n, r.varint("record field count"));
  if (n != base.fields.size()) {
    return fail("corrupt value: shadow written against a record of " + std::to_string(n) +
                " fields, read against one of " + std::to_string(base.fields.size()));
  }
  TANDEM_ASSIGN_OR_RETURN(std::string_view codes, r.raw((2 * n + 7) / 8, "shadow field codes"));
  auto code = [&](size_t i) {
    return static_cast<uint8_t>(static_cast<uint8_t>(codes[i / 4]) >> (2 * (i % 4)) & 3u);
  };
  for (size_t i = 0; i < n; ++i) {
    if (code(i) > static_cast<uint8_t>(AsRecord::Sending)) {
      return fail("corrupt value: shadow field code " + std::to_string(code(i)));
    }
  }
  TANDEM_ASSIGN_OR_RETURN(uint64_t m, readCount(r, "shadow field count"));
  s.fields.reserve(m + n);
  size_t j = 0;  // the next record field to consider
  auto takeHeldBefore = [&](std::string_view limit, bool all) {
    for (; j < n && (all || base.fields[j].name < limit); ++j) {
      if (code(j) != 0) {
        ShadowField& f = s.fields.append(std::string(base.fields[j].name), ShadowField{});
        fillAsRecord(f, static_cast<AsRecord>(code(j)), base.fields[j].hash, base.fields[j].vv);
      }
    }
  };
  for (uint64_t i = 0; i < m; ++i) {
    TANDEM_ASSIGN_OR_RETURN(std::string name, readName(r, names, "shadow field name"));
    takeHeldBefore(name, false);
    if (!s.fields.empty() && name <= s.fields.back().first) {
      return fail("corrupt value: shadow field names out of order at \"" + name + "\"");
    }
    const bool in_record = j < n && base.fields[j].name == name;
    if (in_record && code(j) != 0) {
      return fail("corrupt value: shadow field \"" + name + "\" both as the record's and apart");
    }
    const VersionVector* vv_base = in_record ? &base.fields[j].vv : &none;
    ShadowField& f = s.fields.append(std::move(name), ShadowField{});
    TANDEM_RETURN_IF_ERROR(readShadowFieldInto(r, vv_base, f));
  }
  takeHeldBefore({}, true);
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
