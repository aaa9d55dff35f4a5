// The migration hook: an older store is brought up to this build's version in the opening
// transaction, or refused when a step is missing.

#include "state/schema.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "conflict/bytes.h"
#include "conflict/codec.h"
#include "state/keys.h"
#include "state/names.h"
#include "state/row.h"
#include "state/store.h"
#include "test_util.h"

namespace tandem::state {
namespace {

using testing::TempDir;

struct Opened {
  lmdb::Env env;
  Tables tables;
};

Opened openAtVersion(const TempDir& dir, uint32_t version) {
  lmdb::Env::Config c;
  c.sync = false;
  auto env = lmdb::Env::open(dir.path(), c);
  EXPECT_TRUE(env);
  auto txn = env->beginWrite();
  auto tables = openTables(*txn);
  EXPECT_TRUE(tables);
  std::string v;
  ByteWriter(v).varint(version);
  EXPECT_TRUE(txn->put(tables->meta, kMetaSchema, v));
  EXPECT_TRUE(txn->commit());
  return {std::move(*env), *tables};
}

Status markMigrated(lmdb::WriteTxn& txn, const Tables& tables) {
  return txn.put(tables.meta, "migrated", "0->1");
}

TEST(Schema, OlderStoreRunsEachMigrationStepAndIsStamped) {
  TempDir dir;
  auto [env, tables] = openAtVersion(dir, kSchemaVersion - 1);
  const MigrationStep steps[] = {{kSchemaVersion - 1, &markMigrated}};
  auto txn = env.beginWrite();
  auto s = checkSchema(*txn, tables, dir.path(), steps);
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_TRUE(txn->commit());
  auto r = env.beginRead();
  EXPECT_EQ(**r->get(tables.meta, "migrated"), "0->1");
  std::string want;
  ByteWriter(want).varint(kSchemaVersion);
  EXPECT_EQ(**r->get(tables.meta, kMetaSchema), want);
}

TEST(Schema, MissingMigrationStepIsRefused) {
  TempDir dir;
  auto [env, tables] = openAtVersion(dir, kSchemaVersion - 1);
  auto txn = env.beginWrite();
  auto s = checkSchema(*txn, tables, dir.path(), {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "state: " + dir.path() + ": no migration from schema version " +
                                   std::to_string(kSchemaVersion - 1) + " to " +
                                   std::to_string(kSchemaVersion));
}

TEST(Schema, FreshStoreIsStampedWithThisVersion) {
  TempDir dir;
  {
    auto store = Store::open(dir.path(), testing::testOptions());
    ASSERT_TRUE(store);
  }
  lmdb::Env::Config c;
  auto env = lmdb::Env::open(dir.path(), c);
  auto txn = env->beginWrite();
  auto tables = openTables(*txn);
  std::string want;
  ByteWriter(want).varint(kSchemaVersion);
  EXPECT_EQ(**txn->get(tables->meta, kMetaSchema), want);
}

// A store written by a version-1 build: stamped 1, records and shadows in value format 1
// (laid out below as the format-1 writer did: whole version vectors, every field part present),
// the shadow under its system | record id key (moved by the 2 -> 3 step).
TEST(Schema, VersionOneStoreOpensAndReadsItsFormatOneValues) {
  TempDir dir;
  conflict::VersionVector v;
  v.set(1, 1795992369000);
  conflict::Record want;
  want.id = "r-1";
  want.entity = "customer";
  want.fields["city"] = {conflict::Value::string("Berlin"), v, 1, 1795992368000, 0};
  want.fields["city"].prev_hash = conflict::Value::null().hash();
  std::string record_v1;
  {
    ByteWriter w(record_v1);
    w.u8(1);
    w.str("r-1");
    w.str("customer");
    w.u8(0);                              // not deleted
    conflict::VersionVector().encode(w);  // tombstone vector
    w.u8(0);                              // tombstone source
    w.svarint(0);                         // tombstone time
    w.varint(0);                          // tombstone open conflict
    w.varint(1);                          // one field
    w.str("city");
    conflict::Value::string("Berlin").encode(w);
    v.encode(w);
    w.u8(1);                   // source
    w.svarint(1795992368000);  // source time
    w.varint(0);               // open conflict
    w.varint(0);               // last conflict
    w.fixed64(conflict::Value::null().hash());
    w.varint(0);   // flips
    w.svarint(0);  // flip window start
  }
  conflict::Shadow shadow;
  shadow.tombstone = {conflict::Value::boolean(false).hash(), v, {}};
  shadow.version_token = "W/\"3\"";
  shadow.source_ts_ms = 1795992368000;
  shadow.fields["city"] = {conflict::Value::string("Berlin").hash(), v, {}};
  std::string shadow_v1;
  {
    ByteWriter w(shadow_v1);
    w.u8(1);
    w.fixed64(shadow.tombstone.hash);
    v.encode(w);
    w.varint(0);  // no pending writes
    w.str(shadow.version_token);
    w.svarint(shadow.source_ts_ms);
    w.varint(1);
    w.str("city");
    w.fixed64(shadow.fields.find("city")->hash);
    v.encode(w);
    w.varint(0);
  }
  {
    auto [env, tables] = openAtVersion(dir, 1);
    auto txn = env.beginWrite();
    ASSERT_TRUE(txn->put(tables.records, "r-1", record_v1));
    ASSERT_TRUE(txn->put(tables.shadows, std::string("\x01r-1\x00\x01", 6), shadow_v1));
    ASSERT_TRUE(txn->commit());
  }
  auto store = Store::open(dir.path(), testing::testOptions());
  ASSERT_TRUE(store) << store.error().message;
  {
    auto snap = (*store)->read();
    ASSERT_TRUE(snap);
    auto rec = snap->record("r-1");
    ASSERT_TRUE(rec) << rec.error().message;
    ASSERT_TRUE(rec->has_value());
    EXPECT_EQ(**rec, want);
    auto sh = snap->shadow(1, "r-1");
    ASSERT_TRUE(sh) << sh.error().message;
    ASSERT_TRUE(sh->has_value());
    EXPECT_EQ(**sh, shadow);
  }
  // Changed, the record is written again in format 2 and reads back the same.
  want.fields["city"].value = conflict::Value::string("Paris");
  Batch b;
  b.records = {want};
  ASSERT_TRUE((*store)->apply(b));
  auto snap = (*store)->read();
  ASSERT_TRUE(snap);
  EXPECT_EQ(**snap->record("r-1"), want);
}

// --- 2 -> 3: shadows move from system | record id to record id | system ----------------------

using ShadowKey = std::pair<ActorId, std::string>;  // system, record id
using Shadows = std::map<ShadowKey, conflict::Shadow>;
using Entries = std::vector<std::pair<std::string, std::string>>;

// Opens the environment and its tables without touching the schema version.
Opened openRaw(const TempDir& dir) {
  lmdb::Env::Config c;
  c.map_bytes = 64 << 20;
  c.sync = false;
  auto env = lmdb::Env::open(dir.path(), c);
  EXPECT_TRUE(env) << env.error().message;
  auto txn = env->beginWrite();
  auto tables = openTables(*txn);
  EXPECT_TRUE(tables);
  EXPECT_TRUE(txn->commit());
  return {std::move(*env), *tables};
}

// A store as a version-`version` build left it: stamped so, the record of each id (value format
// 2) in records, its shadows under system | record id.
void writeOldLayout(const TempDir& dir, uint32_t version, const Shadows& shadows) {
  auto [env, tables] = openRaw(dir);
  auto txn = env.beginWrite();
  ASSERT_TRUE(txn);
  std::string v;
  ByteWriter(v).varint(version);
  ASSERT_TRUE(txn->put(tables.meta, kMetaSchema, v));
  for (const auto& [k, shadow] : shadows) {
    ASSERT_TRUE(txn->put(tables.records, k.second,
                         conflict::encodeRecord(testing::sampleRecord(k.second))));
    ASSERT_TRUE(txn->put(tables.shadows, keys::systemRecord(k.first, k.second),
                         conflict::encodeShadow(shadow)));
  }
  ASSERT_TRUE(txn->commit());
}

Entries dumpTable(lmdb::Env& env, const lmdb::Dbi& dbi) {
  Entries out;
  auto txn = env.beginRead();
  EXPECT_TRUE(txn);
  auto cur = txn->cursor(dbi);
  EXPECT_TRUE(cur);
  for (auto kv = cur->first(); kv && *kv; kv = cur->next()) {
    out.emplace_back(std::string((*kv)->first), std::string((*kv)->second));
  }
  return out;
}

uint64_t lastTxnId(lmdb::Env& env) {
  auto txn = env.beginRead();
  EXPECT_TRUE(txn);
  return mdb_txn_id(txn->raw());
}

std::string stamp(uint32_t v) {
  std::string out;
  ByteWriter(out).varint(v);
  return out;
}

// Several systems (10 and 15 among them: a one-byte key part, not a digit) and ids that share
// prefixes, hold a NUL, or start with a byte that ends or escapes an ordered string. Not every
// system has a shadow of every record.
const std::vector<ActorId> kSystems = {0, 1, 2, 9, 10, 15};
const std::vector<std::string> kIds = {"r-1",
                                       "r-10",
                                       "r-100",
                                       "r-2",
                                       std::string("r-1\0x", 5),
                                       std::string("\x01x", 2),
                                       "\xffy",
                                       std::string("\0", 1),
                                       "a"};

Shadows sampleShadows() {
  Shadows out;
  uint64_t n = 0;
  for (size_t i = 0; i < kIds.size(); ++i) {
    for (size_t j = 0; j < kSystems.size(); ++j) {
      ++n;
      if ((i + j) % 4 == 3) {
        continue;
      }
      out[{kSystems[j], kIds[i]}] = testing::sampleShadow(1000 * n + j);
    }
  }
  return out;
}

// Every shadow in `want` reads back through a snapshot; every other pair of kSystems and
// kIds reads as none.
void expectShadows(Store& store, const Shadows& want) {
  auto snap = store.read();
  ASSERT_TRUE(snap);
  for (ActorId system : kSystems) {
    for (const auto& id : kIds) {
      auto sh = snap->shadow(system, id);
      ASSERT_TRUE(sh) << sh.error().message;
      auto it = want.find({system, id});
      if (it == want.end()) {
        EXPECT_FALSE(sh->has_value()) << int(system) << " " << keys::formatRaw(id);
      } else {
        ASSERT_TRUE(sh->has_value()) << int(system) << " " << keys::formatRaw(id);
        EXPECT_EQ(**sh, it->second) << int(system) << " " << keys::formatRaw(id);
      }
    }
  }
}

// The store holds exactly `want`: the shadows table is empty, and each record's row (state/row.h)
// holds its record and the shadows of it in `want`, written against it.
void expectNewLayout(const TempDir& dir, const Shadows& want) {
  auto [env, tables] = openRaw(dir);
  EXPECT_TRUE(dumpTable(env, tables.shadows).empty());
  auto txn = env.beginRead();
  ASSERT_TRUE(txn);
  StoredNames names;
  StoredNames::Reading reading(names, *txn, tables.meta);
  Shadows got;
  for (const auto& [key, value] : dumpTable(env, tables.records)) {
    ASSERT_TRUE(isRow(value)) << keys::formatRaw(key);
    auto row = decodeRow(value, ~0u, &reading);
    ASSERT_TRUE(row) << row.error().message;
    EXPECT_EQ(row->record, testing::sampleRecord(key));
    for (size_t s = 0; s < conflict::kMaxActors; ++s) {
      if (row->shadows[s]) {
        got[{static_cast<ActorId>(s), key}] = *row->shadows[s];
      }
    }
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(**txn->get(tables.meta, kMetaSchema), stamp(kSchemaVersion));
}

TEST(Schema, ThisBuildIsVersionFive) {
  EXPECT_EQ(kSchemaVersion, 5u);
}

TEST(Schema, VersionTwoStoreMovesShadowsToRecordSystemKeys) {
  TempDir dir;
  const Shadows want = sampleShadows();
  writeOldLayout(dir, 2, want);
  {
    auto store = Store::open(dir.path(), testing::testOptions());
    ASSERT_TRUE(store) << store.error().message;
    expectShadows(**store, want);
  }
  expectNewLayout(dir, want);
}

TEST(Schema, MigratedStoreKeepsWorking) {
  TempDir dir;
  Shadows want = sampleShadows();
  writeOldLayout(dir, 2, want);
  auto store = Store::open(dir.path(), testing::testOptions());
  ASSERT_TRUE(store) << store.error().message;
  // A shadow moved by the migration is overwritten, another removed, a new one added: each
  // lands on the key the migration chose.
  Batch b;
  b.shadows = {{1, "r-10", testing::sampleShadow(7)}, {15, "r-100", testing::sampleShadow(8)}};
  b.shadow_removals = {{0, "r-1"}};
  ASSERT_TRUE(want.contains({1, "r-10"}));
  ASSERT_FALSE(want.contains({15, "r-100"}));
  ASSERT_TRUE(want.contains({0, "r-1"}));
  want[{1, "r-10"}] = testing::sampleShadow(7);
  want[{15, "r-100"}] = testing::sampleShadow(8);
  want.erase({0, "r-1"});
  ASSERT_TRUE((*store)->apply(b));
  expectShadows(**store, want);
  store->reset();
  expectNewLayout(dir, want);
}

// More entries than one chunk of the migration, so it resumes after keys it deleted and skips
// the keys it wrote.
TEST(Schema, LargeVersionTwoShadowTableMovesWhole) {
  TempDir dir;
  Shadows want;
  for (int i = 0; i < 2500; ++i) {
    for (ActorId system : {0, 1, 2}) {
      want[{system, "r-" + std::to_string(i)}] =
          testing::sampleShadow(static_cast<uint64_t>(i * 3 + system));
    }
  }
  writeOldLayout(dir, 2, want);
  {
    auto store = Store::open(dir.path(), testing::testOptions());
    ASSERT_TRUE(store) << store.error().message;
    auto snap = (*store)->read();
    ASSERT_TRUE(snap);
    for (const auto& [k, shadow] : want) {
      auto sh = snap->shadow(k.first, k.second);
      ASSERT_TRUE(sh && sh->has_value()) << int(k.first) << " " << k.second;
      ASSERT_EQ(**sh, shadow);
    }
  }
  expectNewLayout(dir, want);
}

TEST(Schema, ReopeningAMigratedStoreChangesNothing) {
  TempDir dir;
  const Shadows want = sampleShadows();
  writeOldLayout(dir, 2, want);
  { ASSERT_TRUE(Store::open(dir.path(), testing::testOptions())); }
  Entries records_before, meta_before;
  uint64_t txn_before = 0;
  {
    auto [env, tables] = openRaw(dir);
    records_before = dumpTable(env, tables.records);
    meta_before = dumpTable(env, tables.meta);
    txn_before = lastTxnId(env);
  }
  {
    auto store = Store::open(dir.path(), testing::testOptions());
    ASSERT_TRUE(store) << store.error().message;
    expectShadows(**store, want);
  }
  auto [env, tables] = openRaw(dir);
  EXPECT_EQ(lastTxnId(env), txn_before);  // nothing was committed
  EXPECT_EQ(dumpTable(env, tables.records), records_before);
  EXPECT_EQ(dumpTable(env, tables.meta), meta_before);
}

// --- 4 -> 5: a record and its shadows become one row ---------------------------------------

// A store as a version-4 build left it: records and shadows (under record id | system) in value
// format 3, names numbered in meta; one shadow of a record that is not stored.
TEST(Schema, VersionFourStoreJoinsEachRecordAndItsShadowsInOneRowAndShrinks) {
  TempDir dir;
  Shadows want;
  size_t old_bytes = 0;
  size_t settled_bytes = 0;  // of the settled shadows
  {
    auto [env, tables] = openRaw(dir);
    auto txn = env.beginWrite();
    ASSERT_TRUE(txn);
    ASSERT_TRUE(txn->put(tables.meta, kMetaSchema, stamp(4)));
    StoredNames stored;
    ASSERT_TRUE(stored.load(*txn, tables.meta));
    StoredNames::Writing names(stored, *txn, tables.meta);
    for (int i = 0; i < 1500; ++i) {  // more than one chunk of the migration
      const std::string id = "r-" + std::to_string(i);
      const conflict::Record r = testing::sampleRecord(id, i);
      auto rec = conflict::encodeRecord(r, names);
      ASSERT_TRUE(rec && txn->put(tables.records, id, *rec));
      old_bytes += rec->size();
      for (ActorId system : {0, 1, 2}) {
        conflict::Shadow sh;  // settled in systems 0 and 1; system 2 has a write pending
        for (const auto& [name, f] : r.fields) {
          sh.fields[name] = {f.value.hash(), f.vv, {}};
        }
        sh.version_token = std::to_string(i);
        if (system == 2) {
          sh = testing::sampleShadow(static_cast<uint64_t>(i));
        }
        auto bytes = conflict::encodeShadow(sh, names);
        ASSERT_TRUE(bytes && txn->put(tables.shadows, keys::recordSystem(id, system), *bytes));
        old_bytes += bytes->size();
        settled_bytes += system == 2 ? 0 : bytes->size();
        want[{system, id}] = sh;
      }
    }
    auto orphan = conflict::encodeShadow(testing::sampleShadow(1), names);
    ASSERT_TRUE(orphan && txn->put(tables.shadows, keys::recordSystem("gone", 1), *orphan));
    ASSERT_TRUE(txn->commit());
    stored.commit();
  }
  {
    auto store = Store::open(dir.path(), testing::testOptions());
    ASSERT_TRUE(store) << store.error().message;
    auto snap = (*store)->read();
    ASSERT_TRUE(snap);
    for (const auto& [k, shadow] : want) {
      auto row = snap->row(k.second);
      ASSERT_TRUE(row && *row) << k.second;
      ASSERT_EQ((*row)->shadows[k.first], shadow) << k.second;
    }
    EXPECT_FALSE(snap->shadow(1, "gone")->has_value());
    EXPECT_EQ(*snap->recordCount(), 1500u);
  }
  auto [env, tables] = openRaw(dir);
  EXPECT_TRUE(dumpTable(env, tables.shadows).empty());
  size_t new_bytes = 0;
  for (const auto& [key, value] : dumpTable(env, tables.records)) {
    new_bytes += value.size();
  }
  // The settled shadows shrink to a few bytes each (their token, time and the bitmap).
  EXPECT_LT(new_bytes, old_bytes - settled_bytes / 2)
      << new_bytes << " vs " << old_bytes << ", settled " << settled_bytes;
}

// A shadow the migration cannot read stops it with its table and key; nothing is committed, and
// the store stays at version 4 for the next try.
TEST(Schema, UnreadableShadowFailsTheFourToFiveMigrationAndChangesNothing) {
  TempDir dir;
  const std::string record = conflict::encodeRecord(testing::sampleRecord("r-1"));
  {
    auto [env, tables] = openRaw(dir);
    auto txn = env.beginWrite();
    ASSERT_TRUE(txn);
    ASSERT_TRUE(txn->put(tables.meta, kMetaSchema, stamp(4)));
    ASSERT_TRUE(txn->put(tables.records, "r-1", record));
    ASSERT_TRUE(txn->put(tables.shadows, keys::recordSystem("r-1", 2), "\x09"));
    ASSERT_TRUE(txn->commit());
  }
  auto s = Store::open(dir.path(), testing::testOptions());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "state: " + dir.path() +
                                   ": migrate schema 4 -> 5: state: shadows[\"r-1\",2]: unknown "
                                   "shadow format 9 (this build reads 1 to 3)");
  auto [env, tables] = openRaw(dir);
  auto txn = env.beginRead();
  EXPECT_EQ(**txn->get(tables.meta, kMetaSchema), stamp(4));
  EXPECT_EQ(**txn->get(tables.records, "r-1"), record);
  EXPECT_EQ(dumpTable(env, tables.shadows).size(), 1u);
}

TEST(Schema, StoreAtThisVersionRunsNoStep) {
  TempDir dir;
  auto [env, tables] = openAtVersion(dir, kSchemaVersion);
  auto refuse = [](lmdb::WriteTxn&, const Tables&) -> Status { return fail("must not run"); };
  const MigrationStep steps[] = {{kSchemaVersion - 1, refuse}, {kSchemaVersion, refuse}};
  auto txn = env.beginWrite();
  auto s = checkSchema(*txn, tables, dir.path(), steps);
  EXPECT_TRUE(s) << s.error().message;
}

TEST(Schema, NewerStoreIsRefusedAndItsShadowsLeftAlone) {
  TempDir dir;
  const Shadows shadows = sampleShadows();
  writeOldLayout(dir, kSchemaVersion + 1, shadows);
  Entries before;
  {
    auto [env, tables] = openRaw(dir);
    before = dumpTable(env, tables.shadows);
  }
  auto s = Store::open(dir.path(), testing::testOptions());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "state: " + dir.path() + ": schema version " +
                                   std::to_string(kSchemaVersion + 1) +
                                   " is newer than this build (" + std::to_string(kSchemaVersion) +
                                   "); refusing to open");
  auto [env, tables] = openRaw(dir);
  EXPECT_EQ(dumpTable(env, tables.shadows), before);
  auto txn = env.beginRead();
  EXPECT_EQ(**txn->get(tables.meta, kMetaSchema), stamp(kSchemaVersion + 1));
}

// A key in neither layout stops the migration with the table and key named; nothing is
// committed.
TEST(Schema, CorruptOldShadowKeyFailsTheMigration) {
  TempDir dir;
  writeOldLayout(dir, 2, sampleShadows());
  {
    auto [env, tables] = openRaw(dir);
    auto txn = env.beginWrite();
    ASSERT_TRUE(txn->put(tables.shadows, std::string("\x03r-9", 4), "x"));  // unterminated
    ASSERT_TRUE(txn->commit());
  }
  auto s = Store::open(dir.path(), testing::testOptions());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "state: " + dir.path() +
                                   ": migrate schema 2 -> 3: state: shadows[\"\\x03r-9\"]: "
                                   "corrupt key: unterminated string");
  auto [env, tables] = openRaw(dir);
  auto txn = env.beginRead();
  EXPECT_EQ(**txn->get(tables.meta, kMetaSchema), stamp(2));
}

}  // namespace
}  // namespace tandem::state
