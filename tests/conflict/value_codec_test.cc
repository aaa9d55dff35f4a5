#include <gtest/gtest.h>
#include <xxhash.h>

#include "conflict/bytes.h"
#include "conflict/codec.h"
#include "conflict/value.h"
#include "tests/conflict/memory_names.h"

namespace tandem::conflict {
namespace {

std::string ByteWriterBytes(uint64_t fixed) {
  std::string out;
  ByteWriter w(out);
  w.fixed64(fixed);
  return out;
}

Record sampleRecord() {
  Record r;
  r.id = "r-0001";
  r.entity = "customer";
  VersionVector v;
  v.set(0, 10);
  v.set(3, 12);
  r.fields["email"] = {Value::string("ada@example.com"), v, 0, 1'700'000'000'123, 0};
  r.fields["credit_limit"] = {Value::number(2500.5), v, 2, 1'700'000'000'000, 0};
  r.fields["tags"] = {Value::stringSet({"vip", "b2b", "vip"}), v, 1, -5, 17};
  r.fields["active"] = {Value::boolean(true), v, 1, 0, 0};
  r.fields["employees"] = {Value::integer(-42), v, 1, 0, 0};
  r.fields["fax"] = {Value::null(), {}, 0, 0, 0};
  FieldState& osc = r.fields["country"];
  osc = {Value::string("US"), v, 2, 7, 31};
  osc.last_conflict = 30;
  osc.prev_hash = Value::string("us").hash();
  osc.flips = 3;
  osc.flip_window_start_ms = 1'700'000'000'456;
  r.tombstone = {true, v, 3, 99, 29};
  return r;
}

TEST(Value, EmptyHasOneForm) {
  EXPECT_EQ(Value(), Value::null());
  EXPECT_EQ(Value().hash(), Value::null().hash());
  EXPECT_NE(Value::string("").hash(), Value::null().hash());  // mappers turn "" into null
}

TEST(Value, HashIsXxh3OfTheEncodingForSmallAndLargeValues) {
  // hash() encodes small values on the stack and large ones on the heap: one identity for both,
  // because shadows stored by one build are compared by the next.
  Value::StringSet many;
  for (int i = 0; i < 40; ++i) {
    many.push_back("tag-" + std::to_string(i));
  }
  for (const Value& v :
       {Value::null(), Value::boolean(true), Value::integer(-123456789), Value::number(2.5),
        Value::string("short"), Value::string(std::string(240, 'x')),
        Value::string(std::string(1000, 'x')), Value::stringSet({"a", "b"}),
        Value::stringSet(many)}) {
    std::string bytes;
    ByteWriter w(bytes);
    v.encode(w);
    EXPECT_EQ(v.hash(), XXH3_64bits(bytes.data(), bytes.size())) << v.toJson();
  }
}

TEST(Value, KindsAreDistinctUnderHash) {
  EXPECT_NE(Value::integer(1).hash(), Value::number(1.0).hash());
  EXPECT_NE(Value::string("1").hash(), Value::integer(1).hash());
  EXPECT_NE(Value::boolean(false).hash(), Value::null().hash());
  EXPECT_EQ(Value::number(-0.0), Value::number(0.0));
  EXPECT_EQ(Value::number(-0.0).hash(), Value::number(0.0).hash());
}

TEST(Value, StringSetIsSortedAndUnique) {
  Value s = Value::stringSet({"b", "a", "b", "c"});
  EXPECT_EQ(s.asStringSet(), (Value::StringSet{"a", "b", "c"}));
  EXPECT_EQ(s.hash(), Value::stringSet({"c", "a", "b"}).hash());
  EXPECT_EQ(s.toJson(), R"(["a","b","c"])");
}

TEST(Value, ToJsonEscapes) {
  EXPECT_EQ(Value::string("a\"b\\c\n\x01").toJson(), R"("a\"b\\c\n\u0001")");
  EXPECT_EQ(Value::number(2.5).toJson(), "2.5");
  EXPECT_EQ(Value::integer(-3).toJson(), "-3");
  EXPECT_EQ(Value::boolean(false).toJson(), "false");
  EXPECT_EQ(Value().toJson(), "null");
}

TEST(Codec, RecordRoundTrips) {
  Record r = sampleRecord();
  auto back = decodeRecord(encodeRecord(r));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, r);
}

TEST(Codec, ShadowRoundTrips) {
  Shadow s;
  VersionVector v;
  v.set(1, 5);
  s.fields["email"] = {Value::string("x").hash(), v, {{123, v}, {456, {}}}};
  s.fields["phone"] = {Value().hash(), {}, {}};
  s.tombstone = {Value::boolean(false).hash(), v, {}};
  s.version_token = "W/\"17\"";
  s.source_ts_ms = 1'700'000'000'000;
  auto back = decodeShadow(encodeShadow(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
}

TEST(Codec, ConflictRoundTrips) {
  ConflictEntry c;
  c.id = 77;
  c.record = "r-0001";
  c.entity = "customer";
  c.field = "phone";
  VersionVector a;
  a.set(0, 3);
  VersionVector b;
  b.set(2, 4);
  c.sides = {{0, Value::string("+1 555"), a, 10}, {2, Value::string("+1 556"), b, 11}};
  c.policy = PolicyKind::Manual;
  c.outcome = Value::string("+1 555");
  c.outcome_vv = VersionVector::merged(a, b);
  c.open = true;
  c.created_ms = 12;
  c.note = "held for review";
  auto back = decodeConflict(encodeConflict(c));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, c);
}

// The record and shadow of formatOneSample() as format 1 wrote them (a store from an older
// build): still read, field for field.
struct FormatOneSample {
  Record record;
  Shadow shadow;
};

FormatOneSample formatOneSample() {
  FormatOneSample s;
  Record& r = s.record;
  r.id = "r-1";
  r.entity = "customer";
  VersionVector v;
  v.set(1, 1795992369000);
  VersionVector w;
  w.set(1, 1795992369001);
  w.set(3, 7);
  r.fields["city"] = {Value::string("Berlin"), v, 1, 1795992368000, 0};
  r.fields["city"].prev_hash = Value::null().hash();
  r.fields["tags"] = {Value::stringSet({"a"}), w, 3, 1795992368500, 4};
  r.fields["tags"].last_conflict = 9;
  r.fields["tags"].prev_hash = 77;
  r.fields["tags"].flips = 2;
  r.fields["tags"].flip_window_start_ms = 5;
  Shadow& sh = s.shadow;
  sh.fields["city"] = {Value::string("Berlin").hash(), v, {{Value::string("Paris").hash(), w}}};
  sh.fields["tags"] = {Value().hash(), w, {}};
  sh.tombstone = {Value::boolean(false).hash(), v, {}};
  sh.version_token = "W/\"3\"";
  sh.source_ts_ms = 1795992368000;
  return s;
}

TEST(Codec, ReadsFormatOneRecordsAndShadows) {
  const std::string record_v1(
      "\x01\x03\x72\x2d\x31\x08\x63\x75\x73\x74\x6f\x6d\x65\x72\x00\x00\x00\x00\x00\x02\x04\x63"
      "\x69\x74\x79\x04\x06\x42\x65\x72\x6c\x69\x6e\x02\xe8\xee\xf2\xcb\xa2\x34\x01\x80\xce\xe5"
      "\x97\xc5\x68\x00\x00\xdb\xec\x4e\x07\xf4\xdf\x4b\xc4\x00\x00\x04\x74\x61\x67\x73\x05\x01"
      "\x01\x61\x0a\xe9\xee\xf2\xcb\xa2\x34\x07\x03\xe8\xd5\xe5\x97\xc5\x68\x04\x09\x4d\x00\x00"
      "\x00\x00\x00\x00\x00\x02\x0a",
      95);
  const std::string shadow_v1(
      "\x01\xc0\x76\x72\xce\x0a\xac\x94\xab\x02\xe8\xee\xf2\xcb\xa2\x34\x00\x05\x57\x2f\x22\x33"
      "\x22\x80\xce\xe5\x97\xc5\x68\x02\x04\x63\x69\x74\x79\x6f\x8b\x17\xe4\x75\xb4\x43\x6e\x02"
      "\xe8\xee\xf2\xcb\xa2\x34\x01\xf2\x2d\x0a\x54\xa9\x98\x7c\xa0\x0a\xe9\xee\xf2\xcb\xa2\x34"
      "\x07\x04\x74\x61\x67\x73\xdb\xec\x4e\x07\xf4\xdf\x4b\xc4\x0a\xe9\xee\xf2\xcb\xa2\x34\x07"
      "\x00",
      89);
  FormatOneSample want = formatOneSample();
  auto rec = decodeRecord(record_v1);
  ASSERT_TRUE(rec) << rec.error().message;
  EXPECT_EQ(*rec, want.record);
  auto sh = decodeShadow(shadow_v1);
  ASSERT_TRUE(sh) << sh.error().message;
  EXPECT_EQ(*sh, want.shadow);

  // Written again in format 2: same content, fewer bytes.
  std::string rec_v2 = encodeRecord(want.record);
  std::string sh_v2 = encodeShadow(want.shadow);
  EXPECT_EQ(rec_v2[0], '\x02');
  EXPECT_EQ(sh_v2[0], '\x02');
  EXPECT_LT(rec_v2.size(), record_v1.size());
  EXPECT_LT(sh_v2.size(), shadow_v1.size());
  EXPECT_EQ(decodeRecord(rec_v2).value(), want.record);
  EXPECT_EQ(decodeShadow(sh_v2).value(), want.shadow);
}

TEST(Codec, FormatTwoRoundTripsExtremeCountersAndTimes) {
  Record r;
  r.id = "r-x";
  r.entity = "customer";
  VersionVector big;
  big.set(0, UINT64_MAX);
  big.set(15, 1);
  VersionVector small;
  small.set(0, 1);
  r.fields["a"] = {Value::string("x"), big, 0, INT64_MIN, 0};
  r.fields["b"] = {Value::string("y"), small, 15, INT64_MAX, UINT64_MAX};
  r.fields["c"] = {Value::null(), {}, 2, -1, 0};
  r.fields["c"].prev_hash = 0;
  r.fields["c"].flip_window_start_ms = -7;
  auto back = decodeRecord(encodeRecord(r));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, r);

  Shadow s;
  s.tombstone = {1, big, {{2, small}, {3, {}}}};
  s.fields["a"] = {4, small, {{5, big}}};
  s.fields["b"] = {6, {}, {}};
  auto sback = decodeShadow(encodeShadow(s));
  ASSERT_TRUE(sback) << sback.error().message;
  EXPECT_EQ(*sback, s);
}

TEST(Codec, EveryTruncationOfAShadowIsAnErrorNotACrash) {
  std::string bytes = encodeShadow(formatOneSample().shadow);
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto s = decodeShadow(std::string_view(bytes).substr(0, n));
    EXPECT_FALSE(s) << "prefix of " << n << " bytes decoded";
  }
}

TEST(Codec, UnknownFieldFlagsAreCorrupt) {
  Record r;
  r.id = "r";
  r.entity = "e";
  r.fields["f"] = {Value::null(), {}, 0, 0, 0};
  std::string bytes = encodeRecord(r);
  ASSERT_EQ(bytes.back(), '\x08');  // flags: no previous value
  bytes.back() = '\x20';
  auto bad = decodeRecord(bytes);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "corrupt value: field flags 32");
  bytes.back() = '\x18';  // both "zero" and "null" previous hash
  bad = decodeRecord(bytes);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "corrupt value: field flags 24");
}

TEST(Codec, EveryTruncationOfARecordIsAnErrorNotACrash) {
  std::string bytes = encodeRecord(sampleRecord());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = decodeRecord(std::string_view(bytes).substr(0, n));
    EXPECT_FALSE(r) << "prefix of " << n << " bytes decoded";
  }
}

TEST(Codec, FlippedBytesNeverCrash) {
  std::string bytes = encodeRecord(sampleRecord());
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string copy = bytes;
      copy[i] = static_cast<char>(copy[i] ^ (1 << bit));
      (void)decodeRecord(copy);  // may succeed with other content; must not crash or hang
    }
  }
}

TEST(Codec, ExactErrorsForBadInput) {
  auto wrongFormat = decodeRecord(std::string("\x09", 1));
  ASSERT_FALSE(wrongFormat);
  EXPECT_EQ(wrongFormat.error().message, "unknown record format 9 (this build reads 1 to 3)");

  std::string bytes = encodeRecord(sampleRecord()) + "zz";
  auto trailing = decodeRecord(bytes);
  ASSERT_FALSE(trailing);
  EXPECT_EQ(trailing.error().message, "corrupt value: 2 trailing bytes after record");

  Record r = sampleRecord();
  r.fields.find("country")->flips = 0;
  std::string flip_bytes = encodeRecord(r);
  // The flip count is the varint right after the country field's previous-value hash.
  std::string marker = ByteWriterBytes(r.fields.find("country")->prev_hash);
  size_t at = flip_bytes.find(marker);
  ASSERT_NE(at, std::string::npos);
  std::string big = flip_bytes.substr(0, at + 8) + std::string("\xff\xff\xff\xff\x7f", 5) +
                    flip_bytes.substr(at + 9);
  auto flips = decodeRecord(big);
  ASSERT_FALSE(flips);
  EXPECT_EQ(flips.error().message, "corrupt value: flip count 34359738367");

  auto empty = decodeShadow("");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "truncated value: shadow format at byte 0");
}

// Format 4: a shadow written against its record. What each system holds as the record does is
// a bit; the rest is written as it is; decoding against the same record gives the shadow back.
Shadow settledShadowOf(const Record& r) {
  Shadow s;
  for (const auto& [name, f] : r.fields) {
    s.fields[name] = {f.value.hash(), f.vv, {}};
  }
  s.tombstone = {Value::boolean(r.tombstone.deleted).hash(), r.tombstone.vv, {}};
  s.version_token = "etag-9";
  s.source_ts_ms = 1'700'000'000'999;
  return s;
}

TEST(Codec, ShadowAgainstItsRecordRoundTripsAndIsSmallWhenSettled) {
  testing::MemoryNames names;
  const Record r = sampleRecord();
  const ShadowBase base = ShadowBase::of(r);
  Shadow settled = settledShadowOf(r);
  auto bytes = encodeShadowAgainst(settled, base, names);
  ASSERT_TRUE(bytes) << bytes.error().message;
  // format, tombstone code, token, time, field count, two bits a field, no other fields
  EXPECT_EQ(bytes->size(), 1 + 1 + 7 + 6 + 1 + 2 + 1);
  auto back = decodeShadowAgainst(*bytes, base, &names);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, settled);

  // What a create queues in a system that does not hold the record yet: every field sent, at
  // the record's value and vector, nothing confirmed.
  Shadow sending;
  for (const auto& [name, f] : r.fields) {
    sending.fields[name].pending.push_back({f.value.hash(), f.vv});
  }
  sending.tombstone.pending.push_back({Value::boolean(true).hash(), r.tombstone.vv});
  bytes = encodeShadowAgainst(sending, base, names);
  ASSERT_TRUE(bytes) << bytes.error().message;
  EXPECT_EQ(bytes->size(), 1 + 1 + 1 + 1 + 1 + 2 + 1);
  back = decodeShadowAgainst(*bytes, base, &names);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, sending);

  // Every way a field can differ from the record's, fields the record lacks, a system that
  // holds fewer fields, a tombstone of its own.
  Shadow mixed = settled;
  VersionVector older;
  older.set(0, 9);
  mixed.fields["email"].vv = older;                                       // older vector
  mixed.fields["country"].hash = Value::string("us").hash();              // another value
  mixed.fields["tags"].pending.push_back({Value::null().hash(), older});  // a write pending
  mixed.fields["active"].pending.push_back(  // the record's value pending, an older one held
      {r.fields.find("active")->value.hash(), r.fields.find("active")->vv});
  mixed.fields.erase("fax");  // not mapped there
  mixed.fields["aaa_first"] = {Value::string("only here").hash(), older, {}};
  mixed.fields["zzz_last"] = {Value::integer(3).hash(), {}, {{1, older}}};
  mixed.tombstone = {Value::boolean(false).hash(), older, {}};
  bytes = encodeShadowAgainst(mixed, base, names);
  ASSERT_TRUE(bytes) << bytes.error().message;
  back = decodeShadowAgainst(*bytes, base, &names);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, mixed);

  // An empty shadow against an empty record, and a full one against a record of no fields.
  Record bare;
  bare.id = "r-2";
  bare.entity = "customer";
  const ShadowBase bare_base = ShadowBase::of(bare);
  for (const Shadow& s : {Shadow{}, mixed}) {
    bytes = encodeShadowAgainst(s, bare_base, names);
    ASSERT_TRUE(bytes) << bytes.error().message;
    back = decodeShadowAgainst(*bytes, bare_base, &names);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, s);
  }
}

TEST(Codec, ShadowAgainstARecordReadsOlderFormatsAndRefusesAnotherRecordsBase) {
  testing::MemoryNames names;
  const Record r = sampleRecord();
  const ShadowBase base = ShadowBase::of(r);
  const Shadow s = settledShadowOf(r);
  auto old = decodeShadowAgainst(encodeShadow(s), base, &names);  // format 2
  ASSERT_TRUE(old) << old.error().message;
  EXPECT_EQ(*old, s);

  auto bytes = encodeShadowAgainst(s, base, names);
  ASSERT_TRUE(bytes);
  Record other = r;
  other.fields.erase("fax");
  auto wrong = decodeShadowAgainst(*bytes, ShadowBase::of(other), &names);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().message,
            "corrupt value: shadow written against a record of 7 fields, read against one of 6");
  auto unnamed = decodeShadowAgainst(*bytes, base, nullptr);
  ASSERT_FALSE(unnamed);
  for (size_t n = 0; n < bytes->size(); ++n) {
    EXPECT_FALSE(decodeShadowAgainst(std::string_view(*bytes).substr(0, n), base, &names))
        << "prefix of " << n << " bytes decoded";
  }
  for (size_t i = 0; i < bytes->size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string copy = *bytes;
      copy[i] = static_cast<char>(copy[i] ^ (1 << bit));
      (void)decodeShadowAgainst(copy, base, &names);  // must not crash or hang
    }
  }
}

// The store reads a shadow's base from the record's bytes, hashing each value where it lies;
// the writer builds it from the record. Both must agree, or a settled field would read back as
// another value.
TEST(Codec, ShadowBaseReadFromTheRecordsBytesIsTheRecordsOwn) {
  testing::MemoryNames names;
  Record r = sampleRecord();
  r.fields["long"] = {Value::string(std::string(1000, 'x')), {}, 0, 0, 0};  // hashed from the heap
  const ShadowBase want = ShadowBase::of(r);
  auto numbered = encodeRecord(r, names);
  ASSERT_TRUE(numbered);
  for (const std::string& bytes : {encodeRecord(r), *numbered}) {
    auto got = ShadowBase::read(bytes, &names);
    ASSERT_TRUE(got) << got.error().message;
    ASSERT_EQ(got->fields.size(), want.fields.size());
    for (size_t i = 0; i < want.fields.size(); ++i) {
      EXPECT_EQ(got->fields[i].name, want.fields[i].name);
      EXPECT_EQ(got->fields[i].hash, want.fields[i].hash) << want.fields[i].name;
      EXPECT_EQ(got->fields[i].vv, want.fields[i].vv) << want.fields[i].name;
    }
    EXPECT_EQ(got->tombstone_hash, want.tombstone_hash);
    EXPECT_EQ(got->tombstone_vv, want.tombstone_vv);
    for (size_t n = 0; n < bytes.size(); ++n) {
      EXPECT_FALSE(ShadowBase::read(std::string_view(bytes).substr(0, n), &names)) << n;
    }
  }
}

// A value the record's decoder refuses, reading the base refuses too, with the same error:
// one reading of a value serves both (a non-finite number was once passed over by the base).
TEST(Codec, ShadowBaseReadRefusesWhatDecodingTheRecordRefuses) {
  Record r = sampleRecord();
  r.fields["n"] = {Value::number(1.5), {}, 0, 0, 0};
  std::string bytes = encodeRecord(r);
  const std::string one_and_a_half("\0\0\0\0\0\0\xf8\x3f", 8);
  const size_t at = bytes.find(one_and_a_half);
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, 8, std::string("\0\0\0\0\0\0\xf8\x7f", 8));  // a NaN
  auto decoded = decodeRecord(bytes);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().message, "corrupt value: non-finite number");
  auto base = ShadowBase::read(bytes, nullptr);
  ASSERT_FALSE(base);
  EXPECT_EQ(base.error().message, decoded.error().message);
}

}  // namespace
}  // namespace tandem::conflict
