#include "conflict/version_vector.h"

#include <gtest/gtest.h>

#include <random>

#include "conflict/bytes.h"

namespace tandem::conflict {
namespace {

VersionVector vv(std::initializer_list<std::pair<ActorId, uint64_t>> entries) {
  VersionVector v;
  for (auto [a, c] : entries) {
    v.set(a, c);
  }
  return v;
}

VersionVector randomVector(std::mt19937_64& rng) {
  VersionVector v;
  for (ActorId a = 0; a < 4; ++a) {
    v.set(a, rng() % 4);
  }
  return v;
}

TEST(VersionVector, CompareCoversAllFourOrders) {
  EXPECT_EQ(vv({{0, 1}}).compare(vv({{0, 1}})), Order::Equal);
  EXPECT_EQ(vv({{0, 1}}).compare(vv({{0, 2}})), Order::Before);
  EXPECT_EQ(vv({{0, 2}, {1, 1}}).compare(vv({{0, 2}})), Order::After);
  EXPECT_EQ(vv({{0, 2}}).compare(vv({{1, 1}})), Order::Concurrent);
  EXPECT_EQ(VersionVector{}.compare(VersionVector{}), Order::Equal);
}

TEST(VersionVector, ComparisonLawsHoldOnRandomVectors) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5000; ++i) {
    VersionVector a = randomVector(rng);
    VersionVector b = randomVector(rng);
    Order ab = a.compare(b);
    Order ba = b.compare(a);
    // Antisymmetry: the order seen from the other side is the mirror image.
    switch (ab) {
      case Order::Equal:
        EXPECT_EQ(ba, Order::Equal);
        EXPECT_EQ(a, b);
        break;
      case Order::Before:
        EXPECT_EQ(ba, Order::After);
        break;
      case Order::After:
        EXPECT_EQ(ba, Order::Before);
        break;
      case Order::Concurrent:
        EXPECT_EQ(ba, Order::Concurrent);
        break;
    }
    EXPECT_EQ(a.descends(b), ab == Order::Equal || ab == Order::After);
    // The merge dominates (or equals) both inputs and is the least such vector.
    VersionVector m = VersionVector::merged(a, b);
    EXPECT_TRUE(m.descends(a));
    EXPECT_TRUE(m.descends(b));
    for (ActorId x = 0; x < 4; ++x) {
      EXPECT_EQ(m.get(x), std::max(a.get(x), b.get(x)));
    }
  }
}

TEST(VersionVector, MergeIsCommutativeAssociativeIdempotent) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 2000; ++i) {
    VersionVector a = randomVector(rng);
    VersionVector b = randomVector(rng);
    VersionVector c = randomVector(rng);
    EXPECT_EQ(VersionVector::merged(a, b), VersionVector::merged(b, a));
    EXPECT_EQ(VersionVector::merged(VersionVector::merged(a, b), c),
              VersionVector::merged(a, VersionVector::merged(b, c)));
    EXPECT_EQ(VersionVector::merged(a, a), a);
  }
}

TEST(VersionVector, TransitivityOfDescends) {
  std::mt19937_64 rng(13);
  for (int i = 0; i < 5000; ++i) {
    VersionVector a = randomVector(rng);
    VersionVector b = randomVector(rng);
    VersionVector c = randomVector(rng);
    if (a.descends(b) && b.descends(c)) {
      EXPECT_TRUE(a.descends(c));
    }
  }
}

TEST(VersionVector, EncodingRoundTripsAndIsCompact) {
  VersionVector v = vv({{0, 1}, {3, 1'700'000'000'000ULL}, {15, 42}});
  std::string buf;
  ByteWriter w(buf);
  v.encode(w);
  EXPECT_LE(buf.size(), 3u + 1 + 6 + 1);
  ByteReader r(buf);
  auto back = VersionVector::decode(r);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, v);
  EXPECT_TRUE(r.atEnd());
  EXPECT_EQ(v.toString(), "{0:1,3:1700000000000,15:42}");
}

TEST(VersionVector, DecodeReportsTruncationAndCorruption) {
  VersionVector v = vv({{1, 300}});
  std::string buf;
  ByteWriter w(buf);
  v.encode(w);
  ByteReader cut(std::string_view(buf).substr(0, buf.size() - 1));
  auto r1 = VersionVector::decode(cut);
  ASSERT_FALSE(r1);
  EXPECT_EQ(r1.error().message, "truncated value: version vector counter at byte 2");

  std::string bad;
  ByteWriter bw(bad);
  bw.varint(1u << 20);  // actor 20 does not exist
  ByteReader br(bad);
  auto r2 = VersionVector::decode(br);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().message, "corrupt value: version vector names actor >= 16");
}

TEST(ActorClock, TickNeverRepeatsAndFollowsWallClock) {
  ActorClock clock;
  EXPECT_EQ(clock.tick(2, 1000), 1000u);
  EXPECT_EQ(clock.tick(2, 1000), 1001u);  // same millisecond: still increases
  EXPECT_EQ(clock.tick(2, 500), 1002u);   // wall clock went back: still increases
  EXPECT_EQ(clock.tick(2, 5000), 5000u);
  // State restored from an older copy: the counter restarts low, but the wall clock carries it
  // past anything it handed out before.
  ActorClock restored;
  restored.set(2, 1001);
  EXPECT_GT(restored.tick(2, 6000), 5000u);
  restored.observe(vv({{2, 9000}}));
  EXPECT_EQ(restored.tick(2, 0), 9001u);
}

}  // namespace
}  // namespace tandem::conflict
