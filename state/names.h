#pragma once

// The store's name table: records and shadows name their fields (and a record its entity) by
// number (value format 3, conflict/codec.h), each name stored once in meta under
// kMetaName + be64(number). Internal to state/.
//
// One writer at a time (it holds the write transaction) adds names; readers on any thread look
// numbers up. A name added in a transaction is visible at once, which is safe because no
// committed value uses it before the commit, and is taken back when the transaction does not
// commit. Other processes open the same store (the CLI's read-only commands while the daemon
// runs, another agent after this one): a writer first takes in names another process stored
// since this one loaded the table, and a reader missing a number rereads the table in its own
// snapshot.

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "conflict/codec.h"
#include "conflict/result.h"
#include "state/lmdb.h"

namespace tandem::state {

class StoredNames {
 public:
  // Takes in every stored name this table does not hold yet. Errors: LMDB's, or "corrupt name
  // table: ..." (the caller says which store).
  Status load(const lmdb::Txn& txn, const lmdb::Dbi& meta);

  // The names for encoding within a write transaction: new ones are numbered and written to
  // `meta` in `txn`. commit() or rollback() after the transaction ends.
  class Writing final : public conflict::NameTable {
   public:
    Writing(StoredNames& names, lmdb::WriteTxn& txn, const lmdb::Dbi& meta)
        : names_(names), txn_(txn), meta_(meta) {}
    Result<uint32_t> number(std::string_view name) override;
    const std::string* name(uint32_t n) override { return names_.find(n); }

   private:
    Result<uint32_t> lookUp(std::string_view name);  // the table, numbering a new name

    StoredNames& names_;
    lmdb::WriteTxn& txn_;
    const lmdb::Dbi& meta_;
    bool loaded_ = false;  // names of other processes taken in (once per transaction)
    // The names this transaction asked for, in the order first asked, as views into the table
    // (stable: a deque; names are taken back only after the transaction). Records and shadows
    // name the same fields in the same order, so the name after the last one asked is tried
    // first: most lookups then cost one comparison instead of the table's lock and a hash.
    std::vector<std::pair<std::string_view, uint32_t>> asked_;
    size_t next_ = 0;
  };
  // The transaction committed: its names stay. It did not: they are taken back.
  void commit();
  void rollback();

  // The names for decoding one value in a snapshot: a number missing from the table rereads it
  // from `txn` (another process stored it), once. Holds the table's shared lock from the first
  // lookup to its end (one lock per value, not per field): end it before writing.
  class Reading final : public conflict::NameTable {
   public:
    Reading(StoredNames& names, const lmdb::Txn& txn, const lmdb::Dbi& meta)
        : names_(names), txn_(txn), meta_(meta), lock_(names.mu_, std::defer_lock) {}
    Result<uint32_t> number(std::string_view name) override;  // an error: readers add nothing
    const std::string* name(uint32_t n) override;

   private:
    StoredNames& names_;
    const lmdb::Txn& txn_;
    const lmdb::Dbi& meta_;
    std::shared_lock<std::shared_mutex> lock_;
    bool reloaded_ = false;
  };

 private:
  // Looked up by string_view, so a field's number is found without a copy of its name.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  const std::string* find(uint32_t n) const;
  std::optional<uint32_t> numberOf(std::string_view name) const;
  void add(std::string name);  // under a unique lock of mu_

  mutable std::shared_mutex mu_;
  std::deque<std::string> by_number_;  // a deque: references stay valid as it grows
  std::unordered_map<std::string, uint32_t, NameHash, std::equal_to<>> numbers_;
  size_t committed_ = 0;  // by_number_'s entries that are stored
};

}  // namespace tandem::state
