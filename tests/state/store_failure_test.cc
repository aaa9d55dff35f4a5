// What goes wrong: a bad entry mid-batch, a full map, a newer schema, corrupt bytes on disk.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "conflict/bytes.h"
#include "conflict/codec.h"
#include "state/keys.h"
#include "state/lmdb.h"
#include "state/row.h"
#include "state/store.h"
#include "test_util.h"

namespace tandem::state {
namespace {

using testing::openStore;
using testing::outboxEntry;
using testing::rawPut;
using testing::sampleConflict;
using testing::sampleRecord;
using testing::sampleShadow;
using testing::TempDir;
using testing::testOptions;

Batch bigBatch(int from, int count, size_t pad) {
  Batch b;
  for (int i = from; i < from + count; ++i) {
    std::string id = "r-" + std::to_string(i);
    auto r = sampleRecord(id, i);
    r.fields["notes"].value = conflict::Value::string(std::string(pad, 'n'));
    b.records.push_back(std::move(r));
    b.shadows.push_back({1, id, sampleShadow(static_cast<uint64_t>(i))});
    b.outbox.push_back(outboxEntry(1, id, 1000 + i));
  }
  return b;
}

TEST(StoreFailure, InvalidEntryMidBatchLeavesNothing) {
  TempDir dir;
  auto store = openStore(dir);
  ASSERT_TRUE(store->apply(bigBatch(0, 1, 10)));

  Batch b = bigBatch(1, 50, 10);
  b.links = {{1, "N-1", "r-1"}};
  b.match_keys = {{"customer", "email", "x@y", "r-1"}};
  b.conflicts = {sampleConflict("r-1", true)};
  b.cursors = {{1, "customer", "cursor-2"}};
  conflict::ActorClock clock;
  clock.set(1, 99);
  b.clock = clock;
  b.dead_letters = {{99, "r-7", "bad", 1, 1, PushKind::Update}};  // applied late in the txn
  auto r = store->apply(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "state: apply: dead letter \"r-7\": system 99 out of range (max 15)");

  {
    auto snap = store->read();
    EXPECT_EQ(*snap->recordCount(), 1u);
    EXPECT_FALSE(snap->record("r-1")->has_value());
    EXPECT_FALSE(snap->shadow(1, "r-1")->has_value());
    EXPECT_FALSE(snap->linkedRecord(1, "N-1")->has_value());
    EXPECT_FALSE(snap->match("customer", "email", "x@y")->has_value());
    EXPECT_EQ(*snap->outboxSize(), 1u);
    EXPECT_TRUE(snap->conflicts(0, 10)->empty());
    EXPECT_FALSE(snap->cursor(1, "customer")->has_value());
    EXPECT_EQ(snap->clock()->get(1), 0u);
  }

  Batch next;  // the failed batch's conflict id was not consumed
  next.conflicts = {sampleConflict("r-0", false)};
  EXPECT_EQ(store->apply(next)->conflict_ids, std::vector<uint64_t>{1});
}

TEST(StoreFailure, NegativeDueTimeIsRefused) {
  TempDir dir;
  auto store = openStore(dir);
  Batch b;
  b.outbox = {outboxEntry(2, "r-1", -1)};
  auto r = store->apply(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "state: apply: outbox entry 2,\"r-1\": due time -1 is negative");
  Batch empty;
  empty.records = {sampleRecord("")};
  r = store->apply(empty);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "state: apply: record with an empty id");
}

TEST(StoreFailure, MapGrowsFromTinyToManyMegabytes) {
  TempDir dir;
  Options o = testOptions();
  o.initial_map_bytes = 64 << 10;
  auto store = openStore(dir, o);
  ASSERT_NE(store, nullptr);
  EXPECT_LT(store->mapBytes(), size_t{128} << 10);
  // One batch far larger than the map (several doublings inside one apply), then many more.
  ASSERT_TRUE(store->apply(bigBatch(0, 500, 2000)));
  for (int i = 1; i < 10; ++i) {
    auto r = store->apply(bigBatch(i * 500, 500, 2000));
    ASSERT_TRUE(r) << r.error().message;
  }
  EXPECT_GE(store->mapBytes(), size_t{8} << 20);
  auto snap = store->read();
  EXPECT_EQ(*snap->recordCount(), 5000u);
  EXPECT_EQ(**snap->record("r-4999"), bigBatch(4999, 1, 2000).records[0]);
  EXPECT_EQ(*snap->outboxSize(), 5000u);
}

TEST(StoreFailure, GrowthFailsWhileTheCallerHoldsASnapshot) {
  TempDir dir;
  Options o = testOptions();
  o.initial_map_bytes = 64 << 10;
  o.grow_wait = std::chrono::milliseconds(10);
  auto store = openStore(dir, o);
  {
    auto snap = store->read();
    ASSERT_TRUE(snap);
    auto r = store->apply(bigBatch(0, 100, 2000));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().message.starts_with("state: put "));
    EXPECT_TRUE(r.error().message.ends_with(
        ": MDB_MAP_FULL: Environment mapsize limit reached; cannot grow: state: " + dir.path() +
        ": cannot resize the map to 131072 bytes: 1 transaction(s) still open after 10 ms"))
        << r.error().message;
  }
  auto r = store->apply(bigBatch(0, 100, 2000));  // the caller retries once it closed it
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*store->read()->recordCount(), 100u);
}

// Readers on other threads while the writer grows the map: growth holds new snapshots back,
// waits for the open ones, and every snapshot sees whole batches only.
TEST(StoreFailure, ConcurrentReadersDuringGrowthSeeWholeBatches) {
  TempDir dir;
  Options o = testOptions();
  o.initial_map_bytes = 64 << 10;
  auto store = openStore(dir, o);
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!done.load()) {
        auto snap = store->read();
        if (!snap) {
          bad.fetch_add(1);
          continue;
        }
        auto count = snap->recordCount();
        auto outbox = snap->outboxSize();
        if (!count || !outbox || *count % 20 != 0 || *count != *outbox) {
          bad.fetch_add(1);
        }
      }
    });
  }
  for (int i = 0; i < 40; ++i) {
    auto r = store->apply(bigBatch(i * 20, 20, 2000));
    ASSERT_TRUE(r) << r.error().message;
  }
  done = true;
  for (auto& t : readers) {
    t.join();
  }
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(*store->read()->recordCount(), 800u);
  EXPECT_GE(store->mapBytes(), size_t{2} << 20);
}

// A disk that fills up looks to the store like a map that cannot grow: the batch fails with an
// error, nothing of it is written, and the store keeps working for batches that fit.
TEST(StoreFailure, FullMapAtMaximumIsAnErrorNotACrash) {
  TempDir dir;
  Options o = testOptions();
  o.initial_map_bytes = 64 << 10;
  o.max_map_bytes = 256 << 10;
  auto store = openStore(dir, o);
  auto r = store->apply(bigBatch(0, 500, 2000));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message.ends_with(
      ": MDB_MAP_FULL: Environment mapsize limit reached (map at its maximum of 262144 bytes)"))
      << r.error().message;
  EXPECT_EQ(store->mapBytes(), size_t{256} << 10);
  EXPECT_EQ(*store->read()->recordCount(), 0u);
  auto small = store->apply(bigBatch(0, 10, 100));
  ASSERT_TRUE(small) << small.error().message;
  EXPECT_EQ(*store->read()->recordCount(), 10u);
}

TEST(StoreFailure, NewerSchemaIsRefusedAndLeftAlone) {
  TempDir dir;
  { ASSERT_NE(openStore(dir), nullptr); }
  std::string seven;
  ByteWriter(seven).varint(7);
  rawPut(dir, "meta", "schema_version", seven);
  auto s = Store::open(dir.path(), testOptions());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "state: " + dir.path() +
                                   ": schema version 7 is newer than this build (5); refusing "
                                   "to open");
  s = Store::open(dir.path(), testOptions());  // still 7: not overwritten by the first try
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().message.ends_with("refusing to open"));
}

TEST(StoreFailure, CorruptSchemaVersionIsReported) {
  TempDir dir;
  { ASSERT_NE(openStore(dir), nullptr); }
  rawPut(dir, "meta", "schema_version", "\xff");
  auto s = Store::open(dir.path(), testOptions());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "state: " + dir.path() +
                                   ": meta[\"schema_version\"]: truncated value: schema version "
                                   "at byte 1");
}

// A batch that writes into a row it cannot read (the record, or a shadow it would keep) is
// refused whole, naming the row, and leaves it as it was.
TEST(StoreFailure, ABatchOverACorruptRowIsRefusedAndChangesNothing) {
  TempDir dir;
  { ASSERT_NE(openStore(dir), nullptr); }
  std::array<std::string, conflict::kMaxActors> bad_shadow;
  bad_shadow[1] = "\x04";  // format 4, cut short
  const std::string row =
      assembleRow(conflict::encodeRecord(sampleRecord("r-1")), bad_shadow, 1u << 1);
  rawPut(dir, "records", "r-1", row);
  rawPut(dir, "records", "r-2", "\x10\x05r-");  // a row whose record is cut short
  auto store = openStore(dir);
  Batch edit;  // a new record: the shadow of system 1 would be written again against it
  edit.records = {sampleRecord("r-1", 2)};
  edit.outbox = {outboxEntry(1, "r-1", 50)};
  auto r = store->apply(edit);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "state: records[\"r-1\"]: shadow of system 1: truncated value: shadow tombstone code "
            "at byte 0");
  Batch lone;  // a shadow against a record that cannot be read
  lone.shadows = {{0, "r-2", sampleShadow(1)}};
  r = store->apply(lone);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "state: records[\"r-2\"]: truncated value: row record claims 5 "
            "bytes, 2 left");
  auto snap = store->read();
  EXPECT_EQ(**snap->record("r-1"), sampleRecord("r-1"));
  EXPECT_FALSE(snap->outboxEntry(1, "r-1")->has_value());
}

TEST(StoreFailure, CorruptValuesNameTableAndKey) {
  TempDir dir;
  { ASSERT_NE(openStore(dir), nullptr); }
  const std::array<std::string, conflict::kMaxActors> none;
  rawPut(dir, "records", "r-1", assembleRow("\x01\x05r-", none, 0));
  rawPut(dir, "records", "r-2", assembleRow(conflict::encodeRecord(sampleRecord("r-3")), none, 0));
  std::array<std::string, conflict::kMaxActors> bad_shadow;
  bad_shadow[2] = "\x07";
  rawPut(dir, "records", "r-4",
         assembleRow(conflict::encodeRecord(sampleRecord("r-4")), bad_shadow, 1u << 2));
  rawPut(dir, "records", "r-5", conflict::encodeRecord(sampleRecord("r-5")));  // not a row
  Batch b;
  b.outbox = {outboxEntry(1, "r-1", 50)};
  b.dead_letters = {{1, "r-1", "x", 1, 1, PushKind::Update}};
  { ASSERT_TRUE(openStore(dir)->apply(b)); }
  rawPut(dir, "outbox", keys::outbox(50, 1, "r-1"), "\x01\x09");
  rawPut(dir, "deadletters", keys::systemRecord(1, "r-1"), "");

  auto store = openStore(dir);
  auto snap = store->read();
  auto rec = snap->record("r-1");
  ASSERT_FALSE(rec);
  EXPECT_EQ(rec.error().message,
            "state: records[\"r-1\"]: truncated value: record id claims 5 bytes, 2 left");
  rec = snap->record("r-2");
  ASSERT_FALSE(rec);
  EXPECT_EQ(rec.error().message, "state: records[\"r-2\"]: corrupt value: holds record \"r-3\"");
  auto sh = snap->shadow(2, "r-4");
  ASSERT_FALSE(sh);
  EXPECT_EQ(sh.error().message,
            "state: records[\"r-4\"]: shadow of system 2: unknown shadow format 7 (this build "
            "reads 1 to 4)");
  EXPECT_TRUE(snap->record("r-4"));  // the record alone still reads
  rec = snap->record("r-5");
  ASSERT_FALSE(rec);
  EXPECT_EQ(rec.error().message,
            "state: records[\"r-5\"]: unknown row format 2 (this build reads 16)");
  auto due = snap->dueOutbox(100, 10);
  ASSERT_FALSE(due);
  EXPECT_EQ(due.error().message,
            "state: outbox[50,1,\"r-1\"]: corrupt value: push kind 9 out of range");
  auto dl = snap->deadLetters(std::nullopt, 10);
  ASSERT_FALSE(dl);
  EXPECT_EQ(dl.error().message,
            "state: deadletters[1,\"r-1\"]: truncated value: dead letter format at byte 0");
}

}  // namespace
}  // namespace tandem::state
