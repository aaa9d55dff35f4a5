// The migration hook: an older store is brought up to this build's version in the opening
// transaction, or refused when a step is missing.

#include "state/schema.h"

#include <gtest/gtest.h>

#include "conflict/bytes.h"
#include "conflict/codec.h"
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
// (laid out below as the format-1 writer did: whole version vectors, every field part present).
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

}  // namespace
}  // namespace tandem::state
