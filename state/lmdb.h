#pragma once

// RAII over the LMDB C API (STYLE.md item 7). The only header in tandem that includes lmdb.h;
// everything outside state/ goes through state/store.h.
//
//  - Env, ReadTxn, WriteTxn and Cursor are move-only and release their handle in the destructor:
//    an uncommitted transaction aborts, commit() clears the handle whatever its outcome.
//  - get() returns "not found" as an empty optional, never as an error.
//  - Every LMDB error becomes an Error naming the operation, the table and the key:
//    "state: put records["r-1"]: MDB_MAP_FULL: Environment mapsize limit reached".
//  - The environment is opened with MDB_NOTLS, so a read transaction is not tied to the thread
//    that began it (it may move between threads, but is used by one thread at a time).
//  - One writer at a time: LMDB serialises write transactions itself, and tandem's agent runs
//    every write on one strand. Env::setMapSize is legal only while this process has no
//    transaction open; Env counts the live ones and refuses otherwise.
//
// Views returned by get() and by cursors point into the map: they stay valid until the
// transaction ends or (in a write transaction) until the next write.

#include <lmdb.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "conflict/result.h"

namespace tandem::state::lmdb {

// Counts the live transactions of one Env and holds new ones back while the map is resized.
struct TxnGate {
  std::mutex mu;
  std::condition_variable cv;
  int open = 0;
  bool resizing = false;

  void enter();  // waits while a resize is under way
  void leave();
};

// "MDB_MAP_FULL: Environment mapsize limit reached"; for errno codes "ENOSPC: No space ...".
std::string errorText(int rc);

// Renders a key of one table for error messages: records -> "r-1", shadows -> "r-1",2.
using KeyFormatter = std::string (*)(std::string_view key);

// A named database handle. Valid for the Env's lifetime once the transaction that opened it
// committed.
struct Dbi {
  MDB_dbi dbi = 0;
  const char* name = "";
  KeyFormatter format = nullptr;

  std::string describe(std::string_view key) const;  // "records[\"r-1\"]"
};

using KeyValue = std::pair<std::string_view, std::string_view>;

class Cursor {
 public:
  Cursor(Cursor&& o) noexcept : cur_(std::exchange(o.cur_, nullptr)), dbi_(o.dbi_) {}
  Cursor& operator=(Cursor&& o) noexcept;
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  ~Cursor();

  // Positions at the first key >= key (MDB_SET_RANGE); empty at the end of the table.
  Result<std::optional<KeyValue>> seek(std::string_view key);
  Result<std::optional<KeyValue>> first();
  Result<std::optional<KeyValue>> next();

 private:
  friend class Txn;
  friend class WriteTxn;
  Cursor(MDB_cursor* c, const Dbi& dbi) : cur_(c), dbi_(dbi) {}
  Result<std::optional<KeyValue>> step(MDB_val* key, MDB_cursor_op op, const char* what);

  MDB_cursor* cur_ = nullptr;
  Dbi dbi_;
};

// What read and write transactions share. Not used on its own.
class Txn {
 public:
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  Result<std::optional<std::string_view>> get(const Dbi& dbi, std::string_view key) const;
  // The cursor must be destroyed before the transaction ends.
  Result<Cursor> cursor(const Dbi& dbi) const;
  MDB_txn* raw() const { return txn_; }
  bool active() const { return txn_ != nullptr; }

 protected:
  Txn(MDB_txn* t, TxnGate* gate) : txn_(t), gate_(gate) {}
  Txn(Txn&& o) noexcept
      : txn_(std::exchange(o.txn_, nullptr)), gate_(std::exchange(o.gate_, nullptr)) {}
  ~Txn() { abort(); }
  void moveFrom(Txn&& o) noexcept;
  void release();  // forgets the handle (after commit or abort) and counts it closed

 public:
  void abort();  // no-op once committed or aborted

 protected:
  MDB_txn* txn_ = nullptr;
  TxnGate* gate_ = nullptr;
};

class ReadTxn : public Txn {
 public:
  ReadTxn(ReadTxn&& o) noexcept = default;
  ReadTxn& operator=(ReadTxn&& o) noexcept {
    moveFrom(std::move(o));
    return *this;
  }
  ~ReadTxn() = default;

 private:
  friend class Env;
  ReadTxn(MDB_txn* t, TxnGate* gate) : Txn(t, gate) {}
};

class WriteTxn : public Txn {
 public:
  WriteTxn(WriteTxn&& o) noexcept : Txn(std::move(o)), map_full_(o.map_full_) {}
  WriteTxn& operator=(WriteTxn&& o) noexcept {
    moveFrom(std::move(o));
    map_full_ = o.map_full_;
    return *this;
  }
  ~WriteTxn() = default;

  Status put(const Dbi& dbi, std::string_view key, std::string_view value);
  // Where a key is in its table: a cursor left on it and a copy of its value (nullopt: the key
  // is absent), so that it is read and then written with one descent of the tree. Nothing else
  // may write to that table until the write through it.
  struct Place {
    Cursor cursor;
    std::string key;
    std::optional<std::string> value;
  };
  Result<Place> find(const Dbi& dbi, std::string_view key);
  // put() unless the key already holds exactly `value`, which leaves its page clean (no copy
  // of the page and its branch pages in this transaction, nothing written at commit). True
  // when it wrote.
  Result<bool> putIfChanged(Place& at, std::string_view value);
  // The same, finding the key first; with `old`, a copy of what it held (nullopt: nothing).
  Result<bool> putIfChanged(const Dbi& dbi, std::string_view key, std::string_view value,
                            std::optional<std::string>* old = nullptr);
  // True when the key existed.
  Result<bool> del(const Dbi& dbi, std::string_view key);
  // Deletes every entry of the table (mdb_drop, the table itself stays).
  Status clear(const Dbi& dbi);
  // Opens (creating if missing) a named database.
  Result<Dbi> openDbi(const char* name, KeyFormatter format);
  // Commits and clears the handle, whatever the outcome.
  Status commit();
  // True once an operation or the commit failed with MDB_MAP_FULL: the caller may abort,
  // grow the map and retry.
  bool mapFull() const { return map_full_; }

 private:
  friend class Env;
  WriteTxn(MDB_txn* t, TxnGate* gate) : Txn(t, gate) {}
  Status failed(int rc, const char* op, const Dbi& dbi, std::string_view key);

  bool map_full_ = false;
};

class Env {
 public:
  struct Config {
    size_t map_bytes = 1 << 20;
    unsigned max_dbs = 16;
    bool sync = true;  // fsync on every commit; false trades durability on power loss for speed
  };

  // Opens (creating) the environment in directory `dir`, which must exist.
  static Result<Env> open(const std::string& dir, const Config& config);

  Env(Env&& o) noexcept = default;
  Env& operator=(Env&& o) noexcept = default;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  ~Env() = default;

  Result<ReadTxn> beginRead();
  Result<WriteTxn> beginWrite();

  // Changes the map size. LMDB allows this only while no transaction of this process is
  // open: new transactions are held back and open ones are waited for, up to `wait`; if some
  // are still open then (e.g. the caller holds one), the resize is refused with an error.
  Status setMapSize(size_t bytes, std::chrono::milliseconds wait = std::chrono::milliseconds(0));
  size_t mapSize() const;
  int openTransactions() const;
  // Whether commits fsync (MDB_NOSYNC off). Only between write transactions.
  Status setSync(bool sync);
  // Flushes what commits without fsync left in the OS's buffers: fdatasync of the data file,
  // as mdb_env_sync does without MDB_WRITEMAP. It touches only the file descriptor, not the map
  // or the meta pages, so any thread may call it beside commits and resizes.
  Status flush();
  // A consistent copy of the environment into the existing directory `dir` (mdb_env_copy).
  Status copyTo(const std::string& dir) const;
  TxnGate& gateForTest() { return *gate_; }
  const std::string& dir() const { return dir_; }

 private:
  Env(MDB_env* env, std::string dir)
      : env_(env), gate_(std::make_unique<TxnGate>()), dir_(std::move(dir)) {}
  Result<MDB_txn*> begin(unsigned flags, const char* what);

  struct Closer {
    void operator()(MDB_env* e) const { mdb_env_close(e); }
  };
  std::unique_ptr<MDB_env, Closer> env_;
  std::unique_ptr<TxnGate> gate_;  // on the heap: stable while Env moves
  std::string dir_;
};

}  // namespace tandem::state::lmdb
