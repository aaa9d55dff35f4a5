#include "conflict/version_vector.h"

#include <algorithm>

#include "conflict/bytes.h"

namespace tandem::conflict {

const char* orderName(Order o) {
  switch (o) {
    case Order::Equal:
      return "equal";
    case Order::Before:
      return "before";
    case Order::After:
      return "after";
    case Order::Concurrent:
      return "concurrent";
  }
  return "unknown";
}

bool VersionVector::empty() const {
  return std::all_of(c_.begin(), c_.end(), [](uint64_t v) { return v == 0; });
}

Order VersionVector::compare(const VersionVector& other) const {
  bool less = false;
  bool greater = false;
  for (size_t i = 0; i < kMaxActors; ++i) {
    less |= c_[i] < other.c_[i];
    greater |= c_[i] > other.c_[i];
  }
  if (less && greater) {
    return Order::Concurrent;
  }
  if (less) {
    return Order::Before;
  }
  if (greater) {
    return Order::After;
  }
  return Order::Equal;
}

bool VersionVector::descends(const VersionVector& other) const {
  bool ok = true;
  for (size_t i = 0; i < kMaxActors; ++i) {
    ok &= c_[i] >= other.c_[i];
  }
  return ok;
}

void VersionVector::merge(const VersionVector& other) {
  for (size_t i = 0; i < kMaxActors; ++i) {
    c_[i] = std::max(c_[i], other.c_[i]);
  }
}

VersionVector VersionVector::merged(const VersionVector& a, const VersionVector& b) {
  VersionVector out = a;
  out.merge(b);
  return out;
}

void VersionVector::encode(ByteWriter& w) const {
  uint32_t mask = 0;
  for (size_t i = 0; i < kMaxActors; ++i) {
    if (c_[i] != 0) {
      mask |= 1u << i;
    }
  }
  w.varint(mask);
  for (size_t i = 0; i < kMaxActors; ++i) {
    if (c_[i] != 0) {
      w.varint(c_[i]);
    }
  }
}

Result<VersionVector> VersionVector::decode(ByteReader& r) {
  auto mask = r.varint("version vector mask");
  if (!mask) {
    return std::unexpected(mask.error());
  }
  if (*mask >> kMaxActors) {
    return fail("corrupt value: version vector names actor >= " + std::to_string(kMaxActors));
  }
  VersionVector v;
  for (size_t i = 0; i < kMaxActors; ++i) {
    if (*mask & (1u << i)) {
      auto c = r.varint("version vector counter");
      if (!c) {
        return std::unexpected(c.error());
      }
      if (*c == 0) {
        return fail("corrupt value: version vector has a zero counter marked present");
      }
      v.c_[i] = *c;
    }
  }
  return v;
}

std::string VersionVector::toString() const {
  std::string s = "{";
  bool first = true;
  for (size_t i = 0; i < kMaxActors; ++i) {
    if (c_[i] != 0) {
      if (!first) {
        s += ',';
      }
      first = false;
      s += std::to_string(i) + ":" + std::to_string(c_[i]);
    }
  }
  s += '}';
  return s;
}

uint64_t ActorClock::tick(ActorId a, uint64_t now_ms) {
  c_[a] = std::max(c_[a] + 1, now_ms);
  return c_[a];
}

void ActorClock::observe(const VersionVector& v) {
  for (size_t i = 0; i < kMaxActors; ++i) {
    c_[i] = std::max(c_[i], v.get(static_cast<ActorId>(i)));
  }
}

}  // namespace tandem::conflict
