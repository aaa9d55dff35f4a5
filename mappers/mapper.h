#pragma once

// The mapping engine. A system × entity mapping is compiled once into a MappingPlan; then
// toCanonical() maps a system record to canonical values (or exact per-field errors, which the
// agent dead-letters) and toSystem() builds the body to send.
//
// Canonical forms (so the round trip is stable, CONVERGENCE cases 3 and 4): "", Odoo-like
// false, absent and null are Value::null; strings are trimmed (and folded as the entity field
// says); string sets sorted and de-duplicated; date-times integer epoch ms UTC; numbers from
// text parsed exactly.

#include <expected>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "conflict/field_map.h"
#include "conflict/result.h"
#include "conflict/value.h"
#include "mappers/config.h"

namespace tandem::mappers {

using CanonicalValues = conflict::FieldMap<conflict::Value>;

struct FieldError {
  std::string field;
  std::string path;
  std::string message;

  // "field email (/properties/email): expected string, got number"
  std::string text() const;
  bool operator==(const FieldError&) const = default;
};
using FieldErrors = std::vector<FieldError>;
std::string describe(const FieldErrors& errors);  // texts joined by "; "

enum class WriteMode { Create, Update };

struct PlanImpl;

class MappingPlan {
 public:
  MappingPlan();
  MappingPlan(MappingPlan&&) noexcept;
  MappingPlan& operator=(MappingPlan&&) noexcept;
  ~MappingPlan();

  const std::string& system() const;
  const std::string& entity() const;
  // Canonical fields this system reports (read) and receives (write), sorted.
  const std::vector<std::string>& readFields() const;
  const std::vector<std::string>& writeFields() const;

  const PlanImpl& impl() const { return *impl_; }

 private:
  friend Result<MappingPlan> compilePlan(const MappingSpec&, const EntityConfig&,
                                         const std::string&);
  std::unique_ptr<PlanImpl> impl_;
};

Result<MappingPlan> compilePlan(const MappingSpec& spec, const EntityConfig& entity,
                                const std::string& system);
Result<MappingPlan> compilePlan(const Config& cfg, std::string_view system,
                                std::string_view entity);

std::expected<CanonicalValues, FieldErrors> toCanonical(const MappingPlan& plan,
                                                        const rapidjson::Value& record);

// A body for a system: a document in a pool of its own whose chunks fit a record or two. A
// rapidjson::Document's own pool starts with a 64 KiB chunk, and the pushers hold every body of
// the batches in flight: after a 100,000-record load that was 36 MB of the agent's ~46 MB heap
// peak (heaptrack), for bodies of ~1 KB.
class SystemBody {
 public:
  SystemBody();
  SystemBody(SystemBody&&) noexcept = default;
  SystemBody& operator=(SystemBody&&) noexcept = default;
  ~SystemBody();

  rapidjson::Document& doc() { return *doc_; }
  const rapidjson::Document& doc() const { return *doc_; }

 private:
  std::unique_ptr<rapidjson::MemoryPoolAllocator<>> pool_;
  std::unique_ptr<rapidjson::Document> doc_;  // allocates from *pool_ (ends first)
};

// The body for the system: every writable field (or only `fields`, for partial updates), with
// constants and defaults on create; read-only fields are left out.
std::expected<SystemBody, FieldErrors> toSystemDocument(const MappingPlan& plan,
                                                        const CanonicalValues& values,
                                                        WriteMode mode);
std::expected<SystemBody, FieldErrors> toSystemDocument(const MappingPlan& plan,
                                                        const CanonicalValues& values,
                                                        WriteMode mode,
                                                        std::span<const std::string> fields);
std::expected<std::string, FieldErrors> toSystem(const MappingPlan& plan,
                                                 const CanonicalValues& values, WriteMode mode);
std::expected<std::string, FieldErrors> toSystem(const MappingPlan& plan,
                                                 const CanonicalValues& values, WriteMode mode,
                                                 std::span<const std::string> fields);

std::string toJson(const rapidjson::Value& v, bool pretty = false);
std::string canonicalToJson(const CanonicalValues& values, bool pretty = false);

}  // namespace tandem::mappers
