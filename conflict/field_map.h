#pragma once

// A small map from field name to T kept as a sorted vector: records have a dozen fields, so a
// binary search over contiguous memory beats a node-based map and encodes in a stable order.

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem::conflict {

template <class T>
class FieldMap {
 public:
  using Entry = std::pair<std::string, T>;

  const T* find(std::string_view name) const {
    auto it = lower(name);
    return it != items_.end() && it->first == name ? &it->second : nullptr;
  }
  T* find(std::string_view name) {
    auto it = lower(name);
    return it != items_.end() && it->first == name ? &it->second : nullptr;
  }
  // Inserts a default T when absent. A name after every name held (a map filled in order, as
  // mappers and decoders fill them) goes at the end without a search.
  T& operator[](std::string_view name) {
    if (items_.empty() || items_.back().first < name) {
      items_.emplace_back(std::string(name), T{});
      return items_.back().second;
    }
    auto it = lower(name);
    if (it == items_.end() || it->first != name) {
      it = items_.insert(it, Entry{std::string(name), T{}});
    }
    return it->second;
  }
  // Adds `name` after every name held: decoders read names in order and check that order
  // themselves (the greatest name held is back().first).
  T& append(std::string name, T value) {
    items_.emplace_back(std::move(name), std::move(value));
    return items_.back().second;
  }
  const Entry& back() const { return items_.back(); }
  bool erase(std::string_view name) {
    auto it = lower(name);
    if (it == items_.end() || it->first != name) {
      return false;
    }
    items_.erase(it);
    return true;
  }

  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  void reserve(size_t n) { items_.reserve(n); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }
  auto begin() { return items_.begin(); }
  auto end() { return items_.end(); }

  bool operator==(const FieldMap&) const = default;

 private:
  auto lower(std::string_view name) const {
    return std::lower_bound(items_.begin(), items_.end(), name,
                            [](const Entry& e, std::string_view n) { return e.first < n; });
  }
  auto lower(std::string_view name) {
    return std::lower_bound(items_.begin(), items_.end(), name,
                            [](const Entry& e, std::string_view n) { return e.first < n; });
  }

  std::vector<Entry> items_;
};

}  // namespace tandem::conflict
