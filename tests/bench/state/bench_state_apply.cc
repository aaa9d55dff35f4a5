// bench_state_apply: batched apply of merged records to LMDB with fsync on every commit, as in
// production, against raw mdb_put of exactly the same key/value bytes in the same batch sizes.
// Per record: a 12-field Record and its 3 Shadows (one per system) in one row, and an outbox
// entry (+ its index).
// Prints one table. Only the apply / put+commit time is measured; building and encoding the
// input happens outside the clock (the Store path encodes inside apply, the raw path does not).

#include <lmdb.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "conflict/codec.h"
#include "state/entries.h"
#include "state/keys.h"
#include "state/row.h"
#include "state/store.h"
#include "tests/conflict/memory_names.h"

namespace tandem::state {
namespace {

using Clock = std::chrono::steady_clock;
using conflict::Value;
using conflict::VersionVector;

constexpr size_t kMapBytes = size_t{2} << 30;

// Record ids: "increasing" as the agent assigns them to new records (inserts append to the
// tree), or "random" (UUID-like, as updates of existing records land all over the tree).
bool g_random_ids = false;

std::string recordId(uint64_t i) {
  uint64_t x = i;
  if (g_random_ids) {
    x = (i + 1) * 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "cust-%016llx", static_cast<unsigned long long>(x));
  return buf;
}

VersionVector vv(uint64_t base) {
  VersionVector v;
  v.set(0, 1'700'000'000'000 + base);
  v.set(1, 1'700'000'000'100 + base);
  v.set(2, 1'700'000'000'200 + base);
  v.set(15, 1'700'000'000'300 + base);
  return v;
}

conflict::Record makeRecord(uint64_t i) {
  conflict::Record r;
  r.id = recordId(i);
  r.entity = "customer";
  std::string n = std::to_string(i);
  auto f = [&](const char* name, Value v, conflict::ActorId src) {
    r.fields[name] = {std::move(v), vv(i), src, static_cast<int64_t>(1'700'000'000'000 + i), 0};
  };
  f("email", Value::string("customer" + n + "@example-company.com"), 0);
  f("name", Value::string("Example Customer Company " + n + " GmbH"), 0);
  f("phone", Value::string("+49 30 1234" + n), 1);
  f("street", Value::string("Friedrichstrasse " + n), 1);
  f("city", Value::string("Berlin"), 1);
  f("postcode", Value::string("10117"), 1);
  f("country", Value::string("DE"), 1);
  f("vat_id", Value::string("DE" + std::to_string(100000000 + i)), 2);
  f("credit_limit", Value::number(2500.5 + static_cast<double>(i)), 2);
  f("employees", Value::integer(static_cast<int64_t>(i % 5000)), 0);
  f("tags", Value::stringSet({"b2b", "vip", "newsletter"}), 0);
  f("active", Value::boolean(true), 2);
  return r;
}

conflict::Shadow makeShadow(const conflict::Record& r, uint64_t i, bool pending) {
  conflict::Shadow s;
  for (const auto& [name, fs] : r.fields) {
    conflict::ShadowField sf{fs.value.hash(), fs.vv, {}};
    if (pending && name == "email") {
      sf.pending.push_back({fs.value.hash() ^ 1, vv(i + 1)});
    }
    s.fields[name] = std::move(sf);
  }
  s.version_token = "\"etag-" + std::to_string(i) + "\"";
  s.source_ts_ms = static_cast<int64_t>(1'700'000'000'000 + i);
  return s;
}

OutboxEntry makeOutbox(const conflict::Record& r, uint64_t i) {
  OutboxEntry e;
  e.system = 2;
  e.record = r.id;
  e.due_ms = static_cast<int64_t>(1'700'000'000'000 + i);
  e.kind = PushKind::Update;
  e.idempotency_key = "tandem-" + r.id + "-2";
  e.enqueued_ms = e.due_ms;
  return e;
}

Batch makeBatch(uint64_t first, size_t n) {
  Batch b;
  b.records.reserve(n);
  for (uint64_t i = first; i < first + n; ++i) {
    auto r = makeRecord(i);
    for (conflict::ActorId sys = 0; sys < 3; ++sys) {
      b.shadows.push_back({sys, r.id, makeShadow(r, i, sys == 2)});
    }
    b.outbox.push_back(makeOutbox(r, i));
    b.records.push_back(std::move(r));
  }
  return b;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;
struct RawBatch {
  Pairs records, outbox, outbox_index;
  size_t bytes = 0;
};

// The values the store writes (state/row.h): per record one row, the record in value format 3
// and each shadow in format 4 against it, names numbered in a table of the raw path's own.
RawBatch encodeBatch(const Batch& b, conflict::NameTable& names) {
  RawBatch raw;
  auto add = [&](Pairs& into, std::string k, std::string v) {
    raw.bytes += k.size() + v.size();
    into.emplace_back(std::move(k), std::move(v));
  };
  for (const auto& r : b.records) {
    const conflict::ShadowBase base = conflict::ShadowBase::of(r);
    std::array<std::string, conflict::kMaxActors> shadows;
    uint32_t systems = 0;
    for (const auto& s : b.shadows) {
      if (s.record == r.id) {
        shadows[s.system] = *conflict::encodeShadowAgainst(s.shadow, base, names);
        systems |= 1u << s.system;
      }
    }
    add(raw.records, r.id, assembleRow(*conflict::encodeRecord(r, names), shadows, systems));
  }
  for (const auto& e : b.outbox) {
    auto due = static_cast<uint64_t>(e.due_ms);
    add(raw.outbox, keys::outbox(due, e.system, e.record), encodeOutboxValue(e));
    add(raw.outbox_index, keys::systemRecord(e.system, e.record), keys::be64(due));
  }
  return raw;
}

int check(int rc, const char* what) {
  if (rc != 0) {
    std::fprintf(stderr, "bench_state_apply: %s: %s\n", what, mdb_strerror(rc));
    std::exit(1);
  }
  return rc;
}

struct RawEnv {
  MDB_env* env = nullptr;
  MDB_dbi records = 0, outbox = 0, outbox_index = 0;

  explicit RawEnv(const std::string& dir) {
    check(mdb_env_create(&env), "create");
    check(mdb_env_set_maxdbs(env, 16), "maxdbs");
    check(mdb_env_set_mapsize(env, kMapBytes), "mapsize");
    check(mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0644), "open");
    MDB_txn* t = nullptr;
    check(mdb_txn_begin(env, nullptr, 0, &t), "begin");
    check(mdb_dbi_open(t, "records", MDB_CREATE, &records), "dbi");
    check(mdb_dbi_open(t, "outbox", MDB_CREATE, &outbox), "dbi");
    check(mdb_dbi_open(t, "outbox_index", MDB_CREATE, &outbox_index), "dbi");
    check(mdb_txn_commit(t), "commit");
  }
  ~RawEnv() { mdb_env_close(env); }

  void apply(const RawBatch& b) {
    MDB_txn* t = nullptr;
    check(mdb_txn_begin(env, nullptr, 0, &t), "begin");
    auto put = [&](MDB_dbi dbi, const Pairs& kvs) {
      for (const auto& [k, v] : kvs) {
        MDB_val key{k.size(), const_cast<char*>(k.data())};
        MDB_val val{v.size(), const_cast<char*>(v.data())};
        check(mdb_put(t, dbi, &key, &val, 0), "put");
      }
    };
    put(records, b.records);
    put(outbox, b.outbox);
    put(outbox_index, b.outbox_index);
    check(mdb_txn_commit(t), "commit");
  }
};

struct Row {
  size_t batch;
  size_t records;
  double store_rps;
  double raw_rps;
  double bytes_per_record;
};

Row run(size_t batch, size_t batches, const std::string& root) {
  std::string tag = std::to_string(batch) + (g_random_ids ? "r" : "i");
  std::string store_dir = root + "/store-" + tag;
  std::string raw_dir = root + "/raw-" + tag;
  std::filesystem::create_directories(raw_dir);
  Options o;
  o.initial_map_bytes = kMapBytes;
  o.max_map_bytes = kMapBytes * 2;
  o.sync = true;
  auto store = Store::open(store_dir, o);
  if (!store) {
    std::fprintf(stderr, "bench_state_apply: %s\n", store.error().message.c_str());
    std::exit(1);
  }
  RawEnv raw(raw_dir);
  conflict::testing::MemoryNames names;
  Clock::duration store_time{}, raw_time{};
  size_t bytes = 0;
  for (size_t k = 0; k < batches; ++k) {
    Batch b = makeBatch(k * batch, batch);
    RawBatch rb = encodeBatch(b, names);
    bytes += rb.bytes;
    auto t0 = Clock::now();
    auto applied = (*store)->apply(b);
    auto t1 = Clock::now();
    raw.apply(rb);
    auto t2 = Clock::now();
    if (!applied) {
      std::fprintf(stderr, "bench_state_apply: %s\n", applied.error().message.c_str());
      std::exit(1);
    }
    store_time += t1 - t0;
    raw_time += t2 - t1;
  }
  size_t n = batch * batches;
  auto secs = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  return {batch, n, static_cast<double>(n) / secs(store_time),
          static_cast<double>(n) / secs(raw_time), static_cast<double>(bytes) / n};
}

}  // namespace
}  // namespace tandem::state

int main() {
  namespace fs = std::filesystem;
  std::string root =
      (fs::temp_directory_path() / ("tandem-bench-state-" + std::to_string(getpid()))).string();
  fs::create_directories(root);
  std::printf(
      "bench_state_apply: nproc=%ld, fsync on every commit, per record: 12-field Record + "
      "3 Shadows + outbox entry\n",
      sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("%10s %7s %9s %15s %15s %7s %12s\n", "ids", "batch", "records", "Store rec/s",
              "raw put rec/s", "ratio", "bytes/record");
  struct Plan {
    size_t batch, batches;
  };
  for (bool random_ids : {false, true}) {
    tandem::state::g_random_ids = random_ids;
    for (Plan p : {Plan{1, 500}, Plan{100, 200}, Plan{1000, 50}}) {
      auto row = tandem::state::run(p.batch, p.batches, root);
      std::printf("%10s %7zu %9zu %15.0f %15.0f %7.2f %12.0f\n",
                  random_ids ? "random" : "increasing", row.batch, row.records, row.store_rps,
                  row.raw_rps, row.store_rps / row.raw_rps, row.bytes_per_record);
      std::fflush(stdout);
    }
  }
  fs::remove_all(root);
  return 0;
}
