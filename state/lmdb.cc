#include "state/lmdb.h"

#include <cerrno>
#include <cstring>

#include <sys/statvfs.h>
#include <unistd.h>

namespace tandem::state::lmdb {

namespace {

MDB_val toVal(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

std::string_view toView(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

const char* errnoName(int rc) {
  switch (rc) {
    case ENOSPC:
      return "ENOSPC";
    case EIO:
      return "EIO";
    case ENOMEM:
      return "ENOMEM";
    case EACCES:
      return "EACCES";
    case ENOENT:
      return "ENOENT";
    case EINVAL:
      return "EINVAL";
    case EAGAIN:
      return "EAGAIN";
    default:
      return nullptr;
  }
}

const char* mdbName(int rc) {
  switch (rc) {
    case MDB_KEYEXIST:
      return "MDB_KEYEXIST";
    case MDB_NOTFOUND:
      return "MDB_NOTFOUND";
    case MDB_PAGE_NOTFOUND:
      return "MDB_PAGE_NOTFOUND";
    case MDB_CORRUPTED:
      return "MDB_CORRUPTED";
    case MDB_PANIC:
      return "MDB_PANIC";
    case MDB_VERSION_MISMATCH:
      return "MDB_VERSION_MISMATCH";
    case MDB_INVALID:
      return "MDB_INVALID";
    case MDB_MAP_FULL:
      return "MDB_MAP_FULL";
    case MDB_DBS_FULL:
      return "MDB_DBS_FULL";
    case MDB_READERS_FULL:
      return "MDB_READERS_FULL";
    case MDB_TXN_FULL:
      return "MDB_TXN_FULL";
    case MDB_CURSOR_FULL:
      return "MDB_CURSOR_FULL";
    case MDB_PAGE_FULL:
      return "MDB_PAGE_FULL";
    case MDB_MAP_RESIZED:
      return "MDB_MAP_RESIZED";
    case MDB_INCOMPATIBLE:
      return "MDB_INCOMPATIBLE";
    case MDB_BAD_RSLOT:
      return "MDB_BAD_RSLOT";
    case MDB_BAD_TXN:
      return "MDB_BAD_TXN";
    case MDB_BAD_VALSIZE:
      return "MDB_BAD_VALSIZE";
    case MDB_BAD_DBI:
      return "MDB_BAD_DBI";
    default:
      return nullptr;
  }
}

// What the file system says when a commit's write failed: LMDB reports a short write (a full disk,
// the file-size limit) as EIO, so the figures that tell those apart go into the error.
std::string writeFailureHint(int rc, MDB_env* env) {
  if (rc != EIO && rc != ENOSPC && rc != EFBIG && rc != EDQUOT) {
    return "";
  }
  const char* path = nullptr;
  struct statvfs fs {};
  if (env == nullptr || mdb_env_get_path(env, &path) != 0 || path == nullptr ||
      ::statvfs(path, &fs) != 0) {
    return " (writing the state file failed: check its disk's free space)";
  }
  const auto free_mb = static_cast<unsigned long long>(fs.f_bavail) * fs.f_frsize / (1024 * 1024);
  return std::string(" (writing the state file failed: ") + path + " has " +
         std::to_string(free_mb) + " MB free" +
         (rc == EFBIG || rc == EIO ? "; a file-size limit (ulimit -f) fails writes too" : "") + ")";
}

}  // namespace

std::string errorText(int rc) {
  std::string text = mdb_strerror(rc);
  if (const char* name = errnoName(rc)) {
    return std::string(name) + ": " + text;
  }
  if (mdbName(rc) == nullptr) {
    return text + " (" + std::to_string(rc) + ")";
  }
  return text;  // LMDB's own texts already start with the name: "MDB_MAP_FULL: ..."
}

std::string Dbi::describe(std::string_view key) const {
  return std::string(name) + "[" + (format ? format(key) : std::string(key)) + "]";
}

// --- Cursor ---------------------------------------------------------------------------------

Cursor& Cursor::operator=(Cursor&& o) noexcept {
  if (this != &o) {
    if (cur_ != nullptr) {
      mdb_cursor_close(cur_);
    }
    cur_ = std::exchange(o.cur_, nullptr);
    dbi_ = o.dbi_;
  }
  return *this;
}

Cursor::~Cursor() {
  if (cur_ != nullptr) {
    mdb_cursor_close(cur_);
  }
}

Result<std::optional<KeyValue>> Cursor::step(MDB_val* key, MDB_cursor_op op, const char* what) {
  MDB_val k{};
  MDB_val v{};
  if (key != nullptr) {
    k = *key;
  }
  int rc = mdb_cursor_get(cur_, &k, &v, op);
  if (rc == MDB_NOTFOUND) {
    return std::nullopt;
  }
  if (rc != 0) {
    return fail(std::string("state: ") + what + " " + dbi_.name + ": " + errorText(rc));
  }
  return KeyValue{toView(k), toView(v)};
}

Result<std::optional<KeyValue>> Cursor::seek(std::string_view key) {
  MDB_val k = toVal(key);
  if (key.empty()) {
    return first();  // LMDB rejects an empty key for MDB_SET_RANGE
  }
  return step(&k, MDB_SET_RANGE, "seek");
}

Result<std::optional<KeyValue>> Cursor::first() {
  return step(nullptr, MDB_FIRST, "scan");
}

Result<std::optional<KeyValue>> Cursor::next() {
  return step(nullptr, MDB_NEXT, "scan");
}

// --- Transactions ---------------------------------------------------------------------------

void Txn::moveFrom(Txn&& o) noexcept {
  if (this != &o) {
    abort();
    txn_ = std::exchange(o.txn_, nullptr);
    gate_ = std::exchange(o.gate_, nullptr);
  }
}

void Txn::release() {
  txn_ = nullptr;
  if (gate_ != nullptr) {
    gate_->leave();
    gate_ = nullptr;
  }
}

void Txn::abort() {
  if (txn_ != nullptr) {
    mdb_txn_abort(txn_);
    release();
  }
}

Result<std::optional<std::string_view>> Txn::get(const Dbi& dbi, std::string_view key) const {
  MDB_val k = toVal(key);
  MDB_val v{};
  int rc = mdb_get(txn_, dbi.dbi, &k, &v);
  if (rc == MDB_NOTFOUND) {
    return std::nullopt;
  }
  if (rc != 0) {
    return fail("state: get " + dbi.describe(key) + ": " + errorText(rc));
  }
  return toView(v);
}

Result<Cursor> Txn::cursor(const Dbi& dbi) const {
  MDB_cursor* c = nullptr;
  int rc = mdb_cursor_open(txn_, dbi.dbi, &c);
  if (rc != 0) {
    return fail(std::string("state: open cursor on ") + dbi.name + ": " + errorText(rc));
  }
  return Cursor(c, dbi);
}

Status WriteTxn::failed(int rc, const char* op, const Dbi& dbi, std::string_view key) {
  if (rc == MDB_MAP_FULL) {
    map_full_ = true;
  }
  return fail(std::string("state: ") + op + " " + dbi.describe(key) + ": " + errorText(rc));
}

Status WriteTxn::put(const Dbi& dbi, std::string_view key, std::string_view value) {
  MDB_val k = toVal(key);
  MDB_val v = toVal(value);
  int rc = mdb_put(txn_, dbi.dbi, &k, &v, 0);
  if (rc != 0) {
    return failed(rc, "put", dbi, key);
  }
  return {};
}

Result<WriteTxn::Place> WriteTxn::find(const Dbi& dbi, std::string_view key) {
  TANDEM_ASSIGN_OR_RETURN(Cursor cursor, this->cursor(dbi));
  Place at{std::move(cursor), std::string(key), std::nullopt};
  MDB_val k = toVal(at.key);
  MDB_val v{};
  const int rc = mdb_cursor_get(at.cursor.cur_, &k, &v, MDB_SET_KEY);
  if (rc == 0) {
    at.value = std::string(toView(v));
  } else if (rc != MDB_NOTFOUND) {
    return std::unexpected(failed(rc, "get", dbi, key).error());
  }
  return at;
}

Result<bool> WriteTxn::putIfChanged(Place& at, std::string_view value) {
  if (at.value && *at.value == value) {
    return false;
  }
  // On the key (or next to where it goes), so the put does not descend again.
  MDB_val k = toVal(at.key);
  MDB_val v = toVal(value);
  const int rc = mdb_cursor_put(at.cursor.cur_, &k, &v, 0);
  if (rc != 0) {
    return std::unexpected(failed(rc, "put", at.cursor.dbi_, at.key).error());
  }
  return true;
}

Result<bool> WriteTxn::putIfChanged(const Dbi& dbi, std::string_view key, std::string_view value,
                                    std::optional<std::string>* old) {
  TANDEM_ASSIGN_OR_RETURN(Place at, find(dbi, key));
  if (old != nullptr) {
    *old = at.value;
  }
  return putIfChanged(at, value);
}

Result<bool> WriteTxn::del(const Dbi& dbi, std::string_view key) {
  MDB_val k = toVal(key);
  int rc = mdb_del(txn_, dbi.dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) {
    return false;
  }
  if (rc != 0) {
    return std::unexpected(failed(rc, "delete", dbi, key).error());
  }
  return true;
}

Status WriteTxn::clear(const Dbi& dbi) {
  int rc = mdb_drop(txn_, dbi.dbi, 0);
  if (rc != 0) {
    if (rc == MDB_MAP_FULL) {
      map_full_ = true;
    }
    return fail(std::string("state: clear ") + dbi.name + ": " + errorText(rc));
  }
  return {};
}

Result<Dbi> WriteTxn::openDbi(const char* name, KeyFormatter format) {
  Dbi d;
  d.name = name;
  d.format = format;
  int rc = mdb_dbi_open(txn_, name, MDB_CREATE, &d.dbi);
  if (rc != 0) {
    return fail(std::string("state: open table ") + name + ": " + errorText(rc));
  }
  return d;
}

Status WriteTxn::commit() {
  if (txn_ == nullptr) {
    return fail("state: commit: transaction already ended");
  }
  MDB_env* env = mdb_txn_env(txn_);
  int rc = mdb_txn_commit(txn_);  // frees the handle on success and on failure
  release();
  if (rc != 0) {
    if (rc == MDB_MAP_FULL) {
      map_full_ = true;
    }
    return fail("state: commit: " + errorText(rc) + writeFailureHint(rc, env));
  }
  return {};
}

// --- Env ------------------------------------------------------------------------------------

Result<Env> Env::open(const std::string& dir, const Config& config) {
  MDB_env* raw = nullptr;
  int rc = mdb_env_create(&raw);
  if (rc != 0) {
    return fail("state: " + dir + ": create environment: " + errorText(rc));
  }
  Env env(raw, dir);
  if ((rc = mdb_env_set_maxdbs(raw, config.max_dbs)) != 0 ||
      (rc = mdb_env_set_mapsize(raw, config.map_bytes)) != 0) {
    return fail("state: " + dir + ": configure environment: " + errorText(rc));
  }
  unsigned flags = MDB_NOTLS;
  if (!config.sync) {
    flags |= MDB_NOSYNC;
  }
  rc = mdb_env_open(raw, dir.c_str(), flags, 0644);
  if (rc != 0) {
    return fail("state: " + dir + ": open: " + errorText(rc));
  }
  return env;
}

Status Env::setSync(bool sync) {
  int rc = mdb_env_set_flags(env_.get(), MDB_NOSYNC, sync ? 0 : 1);
  if (rc != 0) {
    return fail("state: " + dir_ + ": set sync: " + errorText(rc));
  }
  return {};
}

Status Env::flush() {
  mdb_filehandle_t fd{};
  int rc = mdb_env_get_fd(env_.get(), &fd);
  if (rc == 0 && ::fdatasync(fd) != 0) {
    rc = errno;
  }
  if (rc != 0) {
    return fail("state: " + dir_ + ": sync: " + errorText(rc) +
                (rc == EIO
                     ? " (the disk reported a failed write-back: check it and the kernel log; "
                       "nothing waiting for this fsync is taken as durable)"
                     : ""));
  }
  return {};
}

void TxnGate::enter() {
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [this] { return !resizing; });
  ++open;  // counted before it exists: no resize can start from here on
}

void TxnGate::leave() {
  std::lock_guard<std::mutex> lock(mu);
  if (--open == 0) {
    cv.notify_all();
  }
}

Status Env::copyTo(const std::string& dir) const {
  int rc = mdb_env_copy(env_.get(), dir.c_str());
  if (rc != 0) {
    return fail("state: " + dir_ + ": copy to " + dir + ": " + errorText(rc));
  }
  return {};
}

int Env::openTransactions() const {
  std::lock_guard<std::mutex> lock(gate_->mu);
  return gate_->open;
}

Result<MDB_txn*> Env::begin(unsigned flags, const char* what) {
  gate_->enter();
  MDB_txn* t = nullptr;
  int rc = mdb_txn_begin(env_.get(), nullptr, flags, &t);
  if (rc == MDB_MAP_RESIZED) {
    // Another process grew the map: adopt its size, legal only while we are the sole
    // (not yet begun) transaction of this process.
    std::lock_guard<std::mutex> lock(gate_->mu);
    if (gate_->open == 1) {
      mdb_env_set_mapsize(env_.get(), 0);
      rc = mdb_txn_begin(env_.get(), nullptr, flags, &t);
    }
  }
  if (rc != 0) {
    gate_->leave();
    return fail(std::string("state: ") + dir_ + ": begin " + what +
                " transaction: " + errorText(rc));
  }
  return t;
}

Result<ReadTxn> Env::beginRead() {
  TANDEM_ASSIGN_OR_RETURN(MDB_txn * t, begin(MDB_RDONLY, "read"));
  return ReadTxn(t, gate_.get());
}

Result<WriteTxn> Env::beginWrite() {
  TANDEM_ASSIGN_OR_RETURN(MDB_txn * t, begin(0, "write"));
  return WriteTxn(t, gate_.get());
}

Status Env::setMapSize(size_t bytes, std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(gate_->mu);
  if (gate_->resizing) {
    return fail("state: " + dir_ + ": resize already under way");
  }
  gate_->resizing = true;
  bool idle = gate_->cv.wait_for(lock, wait, [this] { return gate_->open == 0; });
  int rc = idle ? mdb_env_set_mapsize(env_.get(), bytes) : 0;
  int open = gate_->open;
  gate_->resizing = false;
  gate_->cv.notify_all();
  if (!idle) {
    return fail("state: " + dir_ + ": cannot resize the map to " + std::to_string(bytes) +
                " bytes: " + std::to_string(open) + " transaction(s) still open after " +
                std::to_string(wait.count()) + " ms");
  }
  if (rc != 0) {
    return fail("state: " + dir_ + ": resize map to " + std::to_string(bytes) +
                " bytes: " + errorText(rc));
  }
  return {};
}

size_t Env::mapSize() const {
  MDB_envinfo info{};
  mdb_env_info(env_.get(), &info);
  return info.me_mapsize;
}

}  // namespace tandem::state::lmdb
