// The RAII layer over LMDB: handles are released, not-found is a value, errors carry context.

#include "state/lmdb.h"

#include <gtest/gtest.h>

#include <thread>

#include "state/keys.h"
#include "test_util.h"

namespace tandem::state::lmdb {
namespace {

using testing::TempDir;

Env openEnv(const TempDir& dir, size_t map = 1 << 20) {
  Env::Config c;
  c.map_bytes = map;
  c.sync = false;
  auto env = Env::open(dir.path(), c);
  EXPECT_TRUE(env) << env.error().message;
  return std::move(*env);
}

Dbi openTable(Env& env, const char* name) {
  auto txn = env.beginWrite();
  EXPECT_TRUE(txn);
  auto dbi = txn->openDbi(name, keys::formatRaw);
  EXPECT_TRUE(dbi);
  EXPECT_TRUE(txn->commit());
  return *dbi;
}

TEST(Lmdb, GetMissingKeyIsEmptyNotError) {
  TempDir dir;
  Env env = openEnv(dir);
  Dbi t = openTable(env, "t");
  auto txn = env.beginRead();
  ASSERT_TRUE(txn);
  auto v = txn->get(t, "absent");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_FALSE(v->has_value());
}

TEST(Lmdb, UncommittedWriteAbortsInDestructor) {
  TempDir dir;
  Env env = openEnv(dir);
  Dbi t = openTable(env, "t");
  {
    auto txn = env.beginWrite();
    ASSERT_TRUE(txn);
    ASSERT_TRUE(txn->put(t, "k", "v"));
    EXPECT_EQ(env.openTransactions(), 1);
  }
  EXPECT_EQ(env.openTransactions(), 0);
  auto r = env.beginRead();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->get(t, "k")->has_value());
}

TEST(Lmdb, CommitClearsHandleAndPersists) {
  TempDir dir;
  Env env = openEnv(dir);
  Dbi t = openTable(env, "t");
  auto txn = env.beginWrite();
  ASSERT_TRUE(txn);
  ASSERT_TRUE(txn->put(t, "k", "v"));
  ASSERT_TRUE(txn->commit());
  EXPECT_FALSE(txn->active());
  EXPECT_EQ(env.openTransactions(), 0);
  auto again = txn->commit();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, "state: commit: transaction already ended");
  auto r = env.beginRead();
  EXPECT_EQ(**r->get(t, "k"), "v");
}

TEST(Lmdb, MovedTransactionIsAbortedOnce) {
  TempDir dir;
  Env env = openEnv(dir);
  Dbi t = openTable(env, "t");
  auto a = env.beginWrite();
  ASSERT_TRUE(a);
  WriteTxn b = std::move(*a);
  EXPECT_FALSE(a->active());
  ASSERT_TRUE(b.put(t, "k", "v"));
  b.abort();
  EXPECT_EQ(env.openTransactions(), 0);
}

TEST(Lmdb, ResizeRefusedWhileTransactionStaysOpen) {
  TempDir dir;
  Env env = openEnv(dir);
  auto r = env.beginRead();
  ASSERT_TRUE(r);
  auto s = env.setMapSize(4 << 20, std::chrono::milliseconds(20));
  ASSERT_FALSE(s);
  EXPECT_EQ(
      s.error().message,
      "state: " + dir.path() +
          ": cannot resize the map to 4194304 bytes: 1 transaction(s) still open after 20 ms");
  r->abort();
  ASSERT_TRUE(env.setMapSize(4 << 20));
  EXPECT_EQ(env.mapSize(), size_t{4} << 20);
}

TEST(Lmdb, ResizeWaitsForTransactionsOfOtherThreads) {
  TempDir dir;
  Env env = openEnv(dir);
  auto r = env.beginRead();
  ASSERT_TRUE(r);
  std::thread ender([&] {
    // Ends the snapshot once the resize is waiting for it.
    while (true) {
      {
        std::lock_guard<std::mutex> lock(env.gateForTest().mu);
        if (env.gateForTest().resizing) {
          break;
        }
      }
      std::this_thread::yield();
    }
    r->abort();
  });
  auto s = env.setMapSize(8 << 20, std::chrono::seconds(30));
  ender.join();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(env.mapSize(), size_t{8} << 20);
  EXPECT_EQ(env.openTransactions(), 0);
}

TEST(Lmdb, MapFullNamesTableKeyAndCode) {
  TempDir dir;
  Env env = openEnv(dir, 64 << 10);
  Dbi t = openTable(env, "records");
  auto txn = env.beginWrite();
  ASSERT_TRUE(txn);
  std::string big(1000, 'x');
  Status s;
  int i = 0;
  for (; i < 1000 && s; ++i) {
    s = txn->put(t, "r-" + std::to_string(i), big);
  }
  ASSERT_FALSE(s);
  EXPECT_TRUE(txn->mapFull());
  EXPECT_EQ(s.error().message, "state: put records[\"r-" + std::to_string(i - 1) +
                                   "\"]: MDB_MAP_FULL: Environment mapsize limit reached");
}

TEST(Lmdb, CursorSeeksAndWalksInByteOrder) {
  TempDir dir;
  Env env = openEnv(dir);
  Dbi t = openTable(env, "t");
  {
    auto w = env.beginWrite();
    for (const char* k : {"b", "a", "c", "bb"}) {
      ASSERT_TRUE(w->put(t, k, k));
    }
    ASSERT_TRUE(w->commit());
  }
  auto r = env.beginRead();
  auto cur = r->cursor(t);
  ASSERT_TRUE(cur);
  std::string seen;
  for (auto kv = *cur->seek("b"); kv; kv = *cur->next()) {
    seen += std::string(kv->first) + ";";
  }
  EXPECT_EQ(seen, "b;bb;c;");
}

TEST(Lmdb, PutIfChangedLeavesAnEqualValueUnwritten) {
  TempDir dir;
  Env env = openEnv(dir);
  Dbi t = openTable(env, "t");
  auto lastTxn = [&env] {
    auto r = env.beginRead();
    EXPECT_TRUE(r);
    return mdb_txn_id(r->raw());
  };
  {
    auto w = env.beginWrite();
    auto wrote = w->putIfChanged(t, "k", "v");  // absent: written
    ASSERT_TRUE(wrote) << wrote.error().message;
    EXPECT_TRUE(*wrote);
    ASSERT_TRUE(w->commit());
  }
  const auto committed = lastTxn();
  {
    auto w = env.beginWrite();
    auto wrote = w->putIfChanged(t, "k", "v");
    ASSERT_TRUE(wrote);
    EXPECT_FALSE(*wrote);
    ASSERT_TRUE(w->commit());
  }
  // Nothing was dirtied, so LMDB committed nothing: the last transaction id did not move.
  EXPECT_EQ(lastTxn(), committed);
  for (std::string_view value : {"vv", "w", ""}) {  // longer, same size, shorter
    auto w = env.beginWrite();
    auto wrote = w->putIfChanged(t, "k", value);
    ASSERT_TRUE(wrote);
    EXPECT_TRUE(*wrote) << value;
    ASSERT_TRUE(w->commit());
    auto r = env.beginRead();
    EXPECT_EQ(**r->get(t, "k"), value);
  }
  EXPECT_EQ(lastTxn(), committed + 3);
}

TEST(Lmdb, ErrorTextNamesErrno) {
  EXPECT_EQ(errorText(ENOSPC), "ENOSPC: No space left on device");
  EXPECT_EQ(errorText(MDB_MAP_FULL), "MDB_MAP_FULL: Environment mapsize limit reached");
}

TEST(Lmdb, OpenMissingDirectoryFails) {
  Env::Config c;
  auto env = Env::open("/nonexistent/tandem-state", c);
  ASSERT_FALSE(env);
  EXPECT_EQ(env.error().message,
            "state: /nonexistent/tandem-state: open: ENOENT: No such file or directory");
}

}  // namespace
}  // namespace tandem::state::lmdb
