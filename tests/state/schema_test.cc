// The migration hook: an older store is brought up to this build's version in the opening
// transaction, or refused when a step is missing.

#include "state/schema.h"

#include <gtest/gtest.h>

#include "conflict/bytes.h"
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

}  // namespace
}  // namespace tandem::state
