#include "state/names.h"

#include <mutex>

#include "state/keys.h"
#include "state/tables.h"

namespace tandem::state {

namespace {

std::string nameKey(uint64_t n) {
  return std::string(kMetaName) + keys::be64(n);
}

}  // namespace

Status StoredNames::load(const lmdb::Txn& txn, const lmdb::Dbi& meta) {
  std::unique_lock lock(mu_);
  if (by_number_.size() != committed_) {
    // A transaction of this process is numbering names; it took in the stored ones first.
    return {};
  }
  // Stored names are numbered 0, 1, 2, ... without gaps: read on from the first one not held.
  for (;;) {
    const uint64_t n = by_number_.size();
    TANDEM_ASSIGN_OR_RETURN(auto value, txn.get(meta, nameKey(n)));
    if (!value) {
      committed_ = by_number_.size();
      return {};
    }
    if (numbers_.contains(*value)) {
      return fail("corrupt name table: " + keys::formatRaw(*value) + " stored twice (number " +
                  std::to_string(n) + ")");
    }
    add(std::string(*value));
  }
}

void StoredNames::add(std::string name) {
  const auto n = static_cast<uint32_t>(by_number_.size());
  by_number_.push_back(name);
  numbers_.emplace(std::move(name), n);
}

const std::string* StoredNames::find(uint32_t n) const {
  std::shared_lock lock(mu_);
  return n < by_number_.size() ? &by_number_[n] : nullptr;
}

std::optional<uint32_t> StoredNames::numberOf(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = numbers_.find(name);
  return it != numbers_.end() ? std::optional<uint32_t>(it->second) : std::nullopt;
}

void StoredNames::commit() {
  std::unique_lock lock(mu_);
  committed_ = by_number_.size();
}

void StoredNames::rollback() {
  std::unique_lock lock(mu_);
  while (by_number_.size() > committed_) {
    numbers_.erase(by_number_.back());
    by_number_.pop_back();
  }
}

Result<uint32_t> StoredNames::Writing::number(std::string_view name) {
  if (next_ < asked_.size() && asked_[next_].first == name) {
    return asked_[next_++].second;
  }
  for (size_t i = 0; i < asked_.size(); ++i) {
    if (asked_[i].first == name) {
      next_ = i + 1;
      return asked_[i].second;
    }
  }
  TANDEM_ASSIGN_OR_RETURN(uint32_t n, lookUp(name));
  if (const std::string* stored = names_.find(n)) {
    asked_.emplace_back(*stored, n);
    next_ = asked_.size();
  }
  return n;
}

Result<uint32_t> StoredNames::Writing::lookUp(std::string_view name) {
  if (auto n = names_.numberOf(name)) {
    return *n;
  }
  if (!loaded_) {
    // Another process may have numbered names since this one loaded the table; numbering past
    // them would give one number two names.
    loaded_ = true;
    if (Status loaded = names_.load(txn_, meta_); !loaded) {
      return failWith("state", loaded.error());
    }
    if (auto n = names_.numberOf(name)) {
      return *n;
    }
  }
  if (name.empty()) {
    return fail("state: an empty field or entity name");
  }
  uint32_t n = 0;
  {
    std::unique_lock lock(names_.mu_);
    n = static_cast<uint32_t>(names_.by_number_.size());
    names_.add(std::string(name));
  }
  TANDEM_RETURN_IF_ERROR(txn_.put(meta_, nameKey(n), name));
  return n;
}

Result<uint32_t> StoredNames::Reading::number(std::string_view name) {
  return fail("state: a reader cannot number the name " + keys::formatRaw(name));
}

const std::string* StoredNames::Reading::name(uint32_t n) {
  if (!lock_.owns_lock()) {
    lock_.lock();
  }
  if (n < names_.by_number_.size()) {
    return &names_.by_number_[n];
  }
  if (reloaded_) {
    return nullptr;
  }
  reloaded_ = true;
  lock_.unlock();  // load() takes the lock to add
  const bool loaded = names_.load(txn_, meta_).has_value();
  lock_.lock();
  return loaded && n < names_.by_number_.size() ? &names_.by_number_[n] : nullptr;
}

}  // namespace tandem::state
