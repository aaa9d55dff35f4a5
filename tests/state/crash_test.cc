// A writer killed at a random instant: every batch it committed is there, whole; nothing of
// the batch it was writing is (DESIGN.md "Crash points").

#include <atomic>
#include <chrono>
#include <future>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state/store.h"
#include "test_util.h"

namespace tandem::state {
namespace {

using testing::openStore;
using testing::outboxEntry;
using testing::sampleRecord;
using testing::sampleShadow;
using testing::TempDir;

constexpr ActorId kCounter = 0;

Options crashOptions() {
  Options o;
  o.initial_map_bytes = 64 << 10;  // so that map growth happens while being killed too
  o.sync = true;
  return o;
}

// Batch i writes record r-i and everything that goes with it, and sets the counter to i.
Batch crashBatch(uint64_t i) {
  std::string id = "r-" + std::to_string(i);
  Batch b;
  auto r = sampleRecord(id, static_cast<int64_t>(i));
  r.fields["notes"].value = conflict::Value::string(std::string(3000, 'a' + i % 26));
  b.records.push_back(std::move(r));
  b.shadows.push_back({1, id, sampleShadow(i)});
  b.links.push_back({1, "N-" + std::to_string(i), id});
  b.outbox.push_back(outboxEntry(2, id, static_cast<int64_t>(i)));
  b.cursors.push_back({1, "customer", std::to_string(i)});
  conflict::ActorClock clock;
  clock.set(kCounter, i);
  b.clock = clock;
  return b;
}

[[noreturn]] void writerChild(const std::string& dir, int ack_fd, Durability durability) {
  auto store = Store::open(dir, crashOptions());
  if (!store) {
    _exit(2);
  }
  uint64_t n = 0;
  {
    auto snap = (*store)->read();
    if (!snap) {
      _exit(3);
    }
    n = snap->clock()->get(kCounter);
  }
  for (;;) {
    if (!(*store)->apply(crashBatch(++n), durability)) {
      _exit(4);
    }
    char ack = 1;
    if (write(ack_fd, &ack, 1) != 1) {
      _exit(5);
    }
  }
}

// Waits for `count` acknowledged commits, within a bounded time.
int readAcks(int fd, int count) {
  int got = 0;
  while (got < count) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 30'000) <= 0) {
      break;
    }
    char buf[64];
    ssize_t n = read(fd, buf, std::min<int>(sizeof buf, count - got));
    if (n <= 0) {
      break;
    }
    got += static_cast<int>(n);
  }
  return got;
}

void expectConsistent(const std::string& dir, uint64_t at_least) {
  auto store = Store::open(dir, crashOptions());
  ASSERT_TRUE(store) << store.error().message;
  auto snap = (*store)->read();
  ASSERT_TRUE(snap);
  uint64_t n = snap->clock()->get(kCounter);
  ASSERT_GE(n, at_least);
  ASSERT_EQ(*snap->recordCount(), n);
  ASSERT_EQ(*snap->outboxSize(), n);
  ASSERT_EQ(**snap->cursor(1, "customer"), std::to_string(n));
  for (uint64_t i = 1; i <= n; ++i) {
    std::string id = "r-" + std::to_string(i);
    auto rec = snap->record(id);
    ASSERT_TRUE(rec) << rec.error().message;
    ASSERT_TRUE(rec->has_value()) << id;
    ASSERT_EQ(**rec, crashBatch(i).records[0]);
    ASSERT_EQ(**snap->shadow(1, id), sampleShadow(i));
    ASSERT_EQ(**snap->linkedRecord(1, "N-" + std::to_string(i)), id);
    ASSERT_EQ((*snap->outboxEntry(2, id))->due_ms, static_cast<int64_t>(i));
  }
  EXPECT_FALSE(snap->record("r-" + std::to_string(n + 1))->has_value());
}

void killWriterAtRandomInstants(Durability durability) {
  TempDir dir;
  std::random_device rd;
  unsigned seed = rd();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  uint64_t acked = 0;
  for (int round = 0; round < 8; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      writerChild(dir.path(), fds[1], durability);
    }
    close(fds[1]);
    int want = static_cast<int>(rng() % 100) + 1;
    int got = readAcks(fds[0], want);
    // Kill at a random instant of the batches that follow (one batch takes ~0.2-10 ms).
    auto spin = std::chrono::microseconds(rng() % 15000);
    auto until = std::chrono::steady_clock::now() + spin;
    while (std::chrono::steady_clock::now() < until) {
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    ASSERT_EQ(got, want) << "writer stopped early, status " << status;
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
    acked += static_cast<uint64_t>(got);
    expectConsistent(dir.path(), acked);
    if (::testing::Test::HasFatalFailure()) {
      return;
    }
  }
}

TEST(StoreCrash, KilledWriterLeavesEveryCommittedBatchWholeAndNoPartialOne) {
  killWriterAtRandomInstants(Durability::Sync);
}

// Commits that do not wait for fsync are as safe against a crash of the process: the OS holds
// their pages (only a power failure can take them, up to the next durable commit).
TEST(StoreCrash, KilledWriterLosesNoDeferredCommitEither) {
  killWriterAtRandomInstants(Durability::Deferred);
}

TEST(Store, DeferredCommitsAreVisibleAndFlushMakesThemDurable) {
  TempDir dir;
  auto store = openStore(dir, crashOptions());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->apply(crashBatch(1), Durability::Deferred));
  ASSERT_TRUE(store->apply(crashBatch(2), Durability::Deferred));
  {
    auto snap = store->read();
    ASSERT_TRUE(snap);
    EXPECT_EQ(*snap->recordCount(), 2u);
  }
  ASSERT_TRUE(store->flush());
  ASSERT_TRUE(store->flush());  // nothing left: a no-op
  ASSERT_TRUE(store->apply(crashBatch(3)));
  store.reset();
  expectConsistent(dir.path(), 3);
}

// The store's flusher makes deferred commits durable on its own, without a later commit or a
// flush() and without holding up the writers (kMaxDeferMs is the bound a user is told).
TEST(Store, DeferredCommitsBecomeDurableWithinTheBoundWithoutAnotherCommit) {
  TempDir dir;
  auto store = openStore(dir, crashOptions());
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->awaitingFlush());
  ASSERT_TRUE(store->apply(crashBatch(1), Durability::Deferred));
  EXPECT_TRUE(store->awaitingFlush());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kMaxDeferMs);
  while (store->awaitingFlush() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(store->awaitingFlush()) << "not flushed within " << kMaxDeferMs << " ms";
  // A durable commit covers the deferred ones before it.
  ASSERT_TRUE(store->apply(crashBatch(2), Durability::Deferred));
  ASSERT_TRUE(store->apply(crashBatch(3)));
  EXPECT_FALSE(store->awaitingFlush());
}

TEST(Store, WhenDurableAnswersAtOnceWhenNothingWaitsForAnFsync) {
  TempDir dir;
  auto store = openStore(dir, crashOptions());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->apply(crashBatch(1)));  // durable
  bool called = false;
  store->whenDurable([&](Status s) {
    EXPECT_TRUE(s) << s.error().message;
    called = true;
  });
  EXPECT_TRUE(called) << "a durable commit needs no fsync to wait for";
}

// A pusher marks creates as sent with a deferred commit and sends them only once it is on
// disk: the flusher does that fsync at once for it, not after the batching delay, and the
// writer is not held meanwhile.
TEST(Store, WhenDurableAnswersRightAfterTheFsyncCoveringTheCommitsBeforeIt) {
  TempDir dir;
  auto store = openStore(dir, crashOptions());
  ASSERT_NE(store, nullptr);
  for (uint64_t round = 1; round <= 5; ++round) {
    ASSERT_TRUE(store->apply(crashBatch(round), Durability::Deferred));
    std::promise<std::pair<Status, bool>> answered;
    const auto asked = std::chrono::steady_clock::now();
    store->whenDurable([&](Status s) {
      answered.set_value({std::move(s), store->awaitingFlush()});
    });
    auto got = answered.get_future();
    ASSERT_EQ(got.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    const auto waited = std::chrono::steady_clock::now() - asked;
    auto [synced, still_waiting] = got.get();
    EXPECT_TRUE(synced) << synced.error().message;
    EXPECT_FALSE(still_waiting) << "answered before the commit was flushed";
    EXPECT_LT(waited, std::chrono::milliseconds(kMaxDeferMs / 2))
        << "waited for the batching delay instead of an fsync at once";
  }
  store.reset();
  expectConsistent(dir.path(), 5);
}

// Whoever still waits when the store closes hears back (its commit flushed) rather than never.
TEST(Store, WhenDurableWaitersHearBackWhenTheStoreCloses) {
  TempDir dir;
  auto store = openStore(dir, crashOptions());
  ASSERT_NE(store, nullptr);
  std::atomic<int> answers{0};
  for (uint64_t i = 1; i <= 20; ++i) {
    ASSERT_TRUE(store->apply(crashBatch(i), Durability::Deferred));
    store->whenDurable([&](Status s) {
      EXPECT_TRUE(s) << s.error().message;
      ++answers;
    });
  }
  store.reset();
  EXPECT_EQ(answers.load(), 20);
  expectConsistent(dir.path(), 20);
}

}  // namespace
}  // namespace tandem::state
