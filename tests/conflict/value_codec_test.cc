#include <gtest/gtest.h>
#include <xxhash.h>

#include "conflict/bytes.h"
#include "conflict/codec.h"
#include "conflict/value.h"

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
  EXPECT_EQ(wrongFormat.error().message, "unknown record format 9 (this build reads 1)");

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

}  // namespace
}  // namespace tandem::conflict
