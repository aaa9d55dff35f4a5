#pragma once

// Version vectors over a small, fixed set of actors: the configured systems plus the agent.
// Actor ids are small integers assigned once by configuration and never reused or pruned, so a
// vector is a flat array indexed by actor id (no allocation, compare in a few instructions).

#include <array>
#include <cstdint>
#include <string>

#include "conflict/result.h"

namespace tandem {
class ByteWriter;
class ByteReader;
}  // namespace tandem

namespace tandem::conflict {

using ActorId = uint8_t;
inline constexpr size_t kMaxActors = 16;

enum class Order : uint8_t {
  Equal,       // same history
  Before,      // this happened-before other (other dominates)
  After,       // this dominates other
  Concurrent,  // neither has seen the other
};

const char* orderName(Order o);

class VersionVector {
 public:
  VersionVector() = default;

  uint64_t get(ActorId a) const { return c_[a]; }
  void set(ActorId a, uint64_t counter) { c_[a] = counter; }
  bool empty() const;

  Order compare(const VersionVector& other) const;
  // True when this vector has seen everything other has seen (this >= other pointwise).
  bool descends(const VersionVector& other) const;
  // Pointwise maximum.
  void merge(const VersionVector& other);
  static VersionVector merged(const VersionVector& a, const VersionVector& b);

  bool operator==(const VersionVector&) const = default;

  // Compact encoding: a bitmask of present actors, then one varint per present counter.
  void encode(ByteWriter& w) const;
  static Result<VersionVector> decode(ByteReader& r);
  std::string toString() const;  // "{0:17,2:18}", for logs and tests

 private:
  std::array<uint64_t, kMaxActors> c_{};
};

// Per-actor counters. A tick is max(counter + 1, now_ms), so a counter never repeats, even
// after state was restored from an older copy (DESIGN.md "Actors and counters"). The agent
// keeps these in LMDB and advances them inside the batch that uses them.
class ActorClock {
 public:
  uint64_t tick(ActorId a, uint64_t now_ms);
  uint64_t get(ActorId a) const { return c_[a]; }
  void set(ActorId a, uint64_t counter) { c_[a] = counter; }
  // Raise every counter to at least what the vector shows (after loading foreign state).
  void observe(const VersionVector& v);

 private:
  std::array<uint64_t, kMaxActors> c_{};
};

}  // namespace tandem::conflict
