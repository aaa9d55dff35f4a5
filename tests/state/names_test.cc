// The name table: records and shadows name their fields by number (value format 3), each name
// stored once. What a user depends on: every value reads back, across restarts, failed
// transactions and another process writing the same store.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <string>

#include "conflict/codec.h"
#include "state/keys.h"
#include "state/lmdb.h"
#include "state/names.h"
#include "state/row.h"
#include "state/tables.h"
#include "tests/conflict/memory_names.h"
#include "tests/state/test_util.h"

namespace tandem::state {
namespace {

using testing::openStore;
using testing::rawPut;
using testing::sampleRecord;
using testing::sampleShadow;
using testing::TempDir;
using testing::testOptions;

// Every key and value of one table, read beside the store (as a second process would).
std::map<std::string, std::string> rawTable(const TempDir& dir, const char* table) {
  lmdb::Env::Config c;
  c.sync = false;
  auto env = lmdb::Env::open(dir.path(), c);
  EXPECT_TRUE(env) << env.error().message;
  auto txn = env->beginWrite();  // openDbi needs one; nothing is written
  EXPECT_TRUE(txn);
  auto dbi = txn->openDbi(table, keys::formatRaw);
  EXPECT_TRUE(dbi);
  std::map<std::string, std::string> out;
  {
    auto cur = txn->cursor(*dbi);  // closed before the transaction ends
    EXPECT_TRUE(cur);
    for (auto kv = cur->first(); kv && *kv; kv = cur->next()) {
      out.emplace(std::string((*kv)->first), std::string((*kv)->second));
    }
  }
  txn->abort();
  return out;
}

conflict::Record withField(conflict::Record r, const std::string& name, int64_t n) {
  r.fields[name] = r.fields["n"];
  r.fields[name].value = conflict::Value::integer(n);
  return r;
}

using conflict::testing::MemoryNames;

TEST(Names, FormatThreeRoundTripsAndIsSmallerThanFormatTwo) {
  MemoryNames names;
  const conflict::Record r = sampleRecord("r-1");
  const conflict::Shadow s = sampleShadow(7);
  auto rec3 = conflict::encodeRecord(r, names);
  auto sh3 = conflict::encodeShadow(s, names);
  ASSERT_TRUE(rec3 && sh3);
  EXPECT_LT(rec3->size(), conflict::encodeRecord(r).size());
  EXPECT_LT(sh3->size(), conflict::encodeShadow(s).size());
  EXPECT_EQ(rec3->find("tags"), std::string::npos);  // the name is a number now
  EXPECT_EQ(conflict::decodeRecord(*rec3, &names).value(), r);
  EXPECT_EQ(conflict::decodeShadow(*sh3, &names).value(), s);
  // Format 2 values are still read, with or without a table.
  EXPECT_EQ(conflict::decodeRecord(conflict::encodeRecord(r), &names).value(), r);
  EXPECT_EQ(conflict::decodeRecord(conflict::encodeRecord(r)).value(), r);

  auto without = conflict::decodeRecord(*rec3);
  ASSERT_FALSE(without);
  EXPECT_EQ(without.error().message,
            "record format 3 names its fields by number, and no name table was given");
  MemoryNames empty;
  auto unknown = conflict::decodeShadow(*sh3, &empty);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "corrupt value: shadow field name number " +
                                         std::to_string(names.numbers.at("email")) +
                                         " is not in the name table");
}

TEST(Names, EachNameIsStoredOnceAndEveryValueReadsBackAfterAReopen) {
  TempDir dir;
  {
    auto store = openStore(dir);
    Batch b;
    b.records = {sampleRecord("r-1", 1), sampleRecord("r-2", 2)};
    b.shadows = {{1, "r-1", sampleShadow(5)}, {2, "r-2", sampleShadow(6)}};
    ASSERT_TRUE(store->apply(b));
  }
  std::map<std::string, std::string> stored;
  for (const auto& [key, value] : rawTable(dir, "meta")) {
    if (key.starts_with(kMetaName)) {
      stored.emplace(value, key);
    }
  }
  EXPECT_EQ(stored.size(), 4u);  // customer, email, n, tags
  for (const char* name : {"customer", "email", "n", "tags"}) {
    EXPECT_TRUE(stored.contains(name)) << name;
  }
  for (const auto& [key, value] : rawTable(dir, "records")) {
    auto row = parseRow(value);
    ASSERT_TRUE(row) << row.error().message;
    EXPECT_EQ(row->record[0], 3) << "record format";
    EXPECT_EQ(row->shadows[key == "r-1" ? 1 : 2][0], 4) << "shadow format";
    EXPECT_EQ(value.find("tags"), std::string::npos);
    EXPECT_EQ(value.find("email"), std::string::npos);
  }
  auto store = openStore(dir);
  auto snap = store->read();
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->record("r-1")->value(), sampleRecord("r-1", 1));
  EXPECT_EQ(snap->record("r-2")->value(), sampleRecord("r-2", 2));
  EXPECT_EQ(snap->shadow(1, "r-1")->value(), sampleShadow(5));
  EXPECT_EQ(snap->shadow(2, "r-2")->value(), sampleShadow(6));
}

// A name table that numbers one name twice cannot be trusted (which number do values mean?):
// the store refuses to open, saying so, and changes nothing.
TEST(Names, ANameStoredTwiceIsReportedWhenTheStoreOpens) {
  TempDir dir;
  {
    auto store = openStore(dir);
    Batch b;
    b.records = {sampleRecord("r-1")};
    ASSERT_TRUE(store->apply(b));  // numbers customer, email, n, tags: 0 to 3
  }
  rawPut(dir, "meta", std::string(kMetaName) + keys::be64(4), "email");
  auto reopened = Store::open(dir.path(), testOptions());
  ASSERT_FALSE(reopened);
  EXPECT_EQ(reopened.error().message,
            "state: " + dir.path() + ": corrupt name table: \"email\" stored twice (number 4)");
  EXPECT_EQ(rawTable(dir, "records").size(), 1u);
}

// A name numbered in a transaction that does not commit must not be taken as stored: the next
// value using it would name a number no table holds after a restart.
TEST(Names, ANameFromATransactionThatFailedIsNumberedAgainAndStored) {
  TempDir dir;
  {
    auto store = openStore(dir);
    Batch bad;
    bad.records = {withField(sampleRecord("r-1"), "fresh", 1)};
    bad.dead_letters = {{99, "r-7", "bad", 1, 1, PushKind::Update}};  // fails after the record
    ASSERT_FALSE(store->apply(bad));
    Batch good;
    good.records = {withField(sampleRecord("r-2"), "fresh", 2)};
    ASSERT_TRUE(store->apply(good));
  }
  auto store = openStore(dir);
  auto snap = store->read();
  ASSERT_TRUE(snap);
  auto r2 = snap->record("r-2");
  ASSERT_TRUE(r2) << r2.error().message;
  EXPECT_EQ(r2->value(), withField(sampleRecord("r-2"), "fresh", 2));
  EXPECT_FALSE(snap->record("r-1")->has_value());
}

// Another process (a second agent on the same state, after this one's last write) numbers
// names this one has not loaded: this one reads its values, and numbers its own new names
// after them instead of over them.
TEST(Names, NamesAnotherProcessStoredAreReadAndNotNumberedOver) {
  TempDir dir;
  auto store = openStore(dir);
  {
    Batch b;
    b.records = {sampleRecord("r-1")};
    ASSERT_TRUE(store->apply(b));
  }
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto other = Store::open(dir.path(), testOptions());
    Batch b;
    b.records = {withField(sampleRecord("r-2"), "theirs", 2)};
    _exit(other && (*other)->apply(b) ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;

  {
    Batch b;  // before this process has read anything of theirs
    b.records = {withField(sampleRecord("r-3"), "ours", 3)};
    ASSERT_TRUE(store->apply(b));
  }
  {
    auto snap = store->read();
    ASSERT_TRUE(snap);
    auto theirs = snap->record("r-2");
    ASSERT_TRUE(theirs) << theirs.error().message;
    EXPECT_EQ(theirs->value(), withField(sampleRecord("r-2"), "theirs", 2));
  }
  store.reset();
  auto reopened = openStore(dir);
  auto snap = reopened->read();
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->record("r-2")->value(), withField(sampleRecord("r-2"), "theirs", 2));
  EXPECT_EQ(snap->record("r-3")->value(), withField(sampleRecord("r-3"), "ours", 3));
}

}  // namespace
}  // namespace tandem::state
