#pragma once

// Shared helpers for the state/ tests: a fresh temp dir per test and sample values.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "conflict/record.h"
#include "state/keys.h"
#include "state/lmdb.h"
#include "state/store.h"
#include "tests/support/temp_dir.h"

namespace tandem::state::testing {

using tandem::testing::TempDir;

inline Options testOptions() {
  Options o;
  o.initial_map_bytes = 1 << 20;
  o.sync = false;
  return o;
}

// Writes raw bytes under a key of one table, bypassing the typed API (as corruption would).
inline void rawPut(const TempDir& dir, const char* table, std::string_view key,
                   std::string_view value) {
  lmdb::Env::Config c;
  c.sync = false;
  auto env = lmdb::Env::open(dir.path(), c);
  ASSERT_TRUE(env) << env.error().message;
  auto txn = env->beginWrite();
  ASSERT_TRUE(txn);
  auto dbi = txn->openDbi(table, keys::formatRaw);
  ASSERT_TRUE(dbi);
  ASSERT_TRUE(txn->put(*dbi, key, value));
  ASSERT_TRUE(txn->commit());
}

// A store in `dir`, or null after a test failure saying why.
inline std::unique_ptr<Store> openStore(const TempDir& dir, Options o = testOptions()) {
  auto s = Store::open(dir.path(), o);
  EXPECT_TRUE(s) << s.error().message;
  return s ? std::move(*s) : nullptr;
}

inline conflict::Record sampleRecord(const std::string& id, int64_t n = 1) {
  conflict::Record r;
  r.id = id;
  r.entity = "customer";
  conflict::VersionVector v;
  v.set(0, 100 + static_cast<uint64_t>(n));
  v.set(2, 7);
  r.fields["email"] = {conflict::Value::string(id + "@example.com"), v, 0, 1'700'000'000'000, 0};
  r.fields["n"] = {conflict::Value::integer(n), v, 2, 1'700'000'000'001, 0};
  r.fields["tags"] = {conflict::Value::stringSet({"vip", "b2b"}), v, 1, 5, 0};
  return r;
}

inline conflict::Shadow sampleShadow(uint64_t hash) {
  conflict::Shadow s;
  conflict::VersionVector v;
  v.set(1, 42);
  s.fields["email"] = {hash, v, {{hash + 1, v}}};
  s.version_token = "W/\"etag-" + std::to_string(hash) + "\"";
  s.source_ts_ms = 1'700'000'000'500;
  return s;
}

inline OutboxEntry outboxEntry(ActorId system, const std::string& record, int64_t due) {
  OutboxEntry e;
  e.system = system;
  e.record = record;
  e.due_ms = due;
  e.kind = PushKind::Update;
  e.idempotency_key = "idem-" + record;
  e.enqueued_ms = due - 10;
  return e;
}

inline conflict::ConflictEntry sampleConflict(const std::string& record, bool open) {
  conflict::ConflictEntry c;
  c.record = record;
  c.entity = "customer";
  c.field = "email";
  c.sides = {{0, conflict::Value::string("a@x"), {}, 10},
             {1, conflict::Value::string("b@x"), {}, 11}};
  c.policy = open ? conflict::PolicyKind::Manual : conflict::PolicyKind::Lww;
  c.outcome = conflict::Value::string("b@x");
  c.open = open;
  c.created_ms = 1000;
  return c;
}

}  // namespace tandem::state::testing
