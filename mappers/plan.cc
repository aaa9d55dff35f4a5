// Compiles a validated MappingSpec into a MappingPlan: pointers split into tokens, value maps
// into hash tables, ownership and direction folded into read/write flags.

#include <algorithm>

#include "mappers/plan.h"
#include "mappers/transforms.h"

namespace tandem::mappers {
namespace {

CompiledPointer compilePointer(const std::string& text) {
  CompiledPointer p;
  p.text = text;
  size_t pos = 1;
  while (pos <= text.size() && !text.empty()) {
    size_t end = text.find('/', pos);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string tok;
    for (size_t i = pos; i < end; ++i) {
      if (text[i] == '~' && i + 1 < end) {
        tok.push_back(text[i + 1] == '1' ? '/' : '~');
        ++i;
      } else {
        tok.push_back(text[i]);
      }
    }
    auto idx = parseInteger(tok);
    p.index.push_back(idx && *idx >= 0 && (tok.size() == 1 || tok[0] != '0') ? *idx : -1);
    p.tokens.push_back(std::move(tok));
    pos = end + 1;
  }
  return p;
}

void addSorted(std::vector<std::string>& v, const std::string& s) {
  auto it = std::lower_bound(v.begin(), v.end(), s);
  if (it == v.end() || *it != s) {
    v.insert(it, s);
  }
}

}  // namespace

const rapidjson::Value* resolve(const CompiledPointer& p, const rapidjson::Value& root) {
  const rapidjson::Value* v = &root;
  for (size_t i = 0; i < p.tokens.size(); ++i) {
    if (v->IsObject()) {
      const std::string& t = p.tokens[i];
      auto it = v->FindMember(rapidjson::StringRef(t.data(), t.size()));
      if (it == v->MemberEnd()) {
        return nullptr;
      }
      v = &it->value;
    } else if (v->IsArray()) {
      int64_t idx = p.index[i];
      if (idx < 0 || static_cast<uint64_t>(idx) >= v->Size()) {
        return nullptr;
      }
      v = &(*v)[static_cast<rapidjson::SizeType>(idx)];
    } else {
      return nullptr;
    }
  }
  return v;
}

std::string FieldError::text() const {
  return "field " + field + " (" + path + "): " + message;
}

std::string describe(const FieldErrors& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) {
      out += "; ";
    }
    out += e.text();
  }
  return out;
}

MappingPlan::MappingPlan() : impl_(std::make_unique<PlanImpl>()) {}
MappingPlan::MappingPlan(MappingPlan&&) noexcept = default;
MappingPlan& MappingPlan::operator=(MappingPlan&&) noexcept = default;
MappingPlan::~MappingPlan() = default;
const std::string& MappingPlan::system() const {
  return impl_->system;
}
const std::string& MappingPlan::entity() const {
  return impl_->entity;
}
const std::vector<std::string>& MappingPlan::readFields() const {
  return impl_->read_fields;
}
const std::vector<std::string>& MappingPlan::writeFields() const {
  return impl_->write_fields;
}

Result<MappingPlan> compilePlan(const MappingSpec& spec, const EntityConfig& entity,
                                const std::string& system) {
  MappingPlan plan;
  PlanImpl& p = *plan.impl_;
  p.system = system;
  p.entity = entity.name;
  std::string where = "mapping " + system + "." + entity.name;
  for (const auto& f : spec.fields) {
    const CanonicalField* cf = entity.findField(f.field);
    if (cf == nullptr) {
      return fail(where + ": unknown field " + f.field);
    }
    FieldStep s;
    s.spec = f;
    s.ptr = compilePointer(f.path);
    s.type = cf->type;
    s.norm = cf->normalize;
    s.empty = f.empty_as                   ? *f.empty_as
              : f.as == Encoding::String   ? EmptyForm::EmptyString
              : f.as == Encoding::Many2One ? EmptyForm::False
                                           : spec.empty_as;
    s.read = f.direction != Direction::Write;
    s.write = f.direction != Direction::Read;
    if (!cf->owned_by.empty() && cf->owned_by != system) {
      s.read = false;  // owned by another system: this one only receives it
    }
    for (const auto& [sys, canon] : f.map) {
      s.forward.emplace(sys, canon);
      s.inverse.emplace(canon, sys);
    }
    if (s.read) {
      addSorted(p.read_fields, f.field);
    }
    if (s.write) {
      addSorted(p.write_fields, f.field);
    }
    p.fields.push_back(std::move(s));
  }
  std::sort(p.fields.begin(), p.fields.end(),
            [](const FieldStep& a, const FieldStep& b) { return a.spec.field < b.spec.field; });
  for (const auto& j : spec.joins) {
    JoinStep s;
    s.spec = j;
    s.ptr = compilePointer(j.path);
    s.empty = spec.empty_as;
    s.read = j.direction != Direction::Write;
    s.write = j.direction != Direction::Read;
    for (const auto& name : j.fields) {
      const CanonicalField* cf = entity.findField(name);
      if (cf == nullptr) {
        return fail(where + ": unknown field " + name);
      }
      if (!cf->owned_by.empty() && cf->owned_by != system) {
        s.read = false;
      }
      s.norms.push_back(cf->normalize);
    }
    for (const auto& name : j.fields) {
      if (s.read) {
        addSorted(p.read_fields, name);
      }
      if (s.write) {
        addSorted(p.write_fields, name);
      }
    }
    p.joins.push_back(std::move(s));
  }
  for (const auto& c : spec.constants) {
    ConstStep s;
    s.ptr = compilePointer(c.path);
    s.value.Parse(c.json.c_str());
    if (s.value.HasParseError()) {
      return fail(where + ": constant " + c.path + " is not JSON");
    }
    s.create_only = c.create_only;
    p.constants.push_back(std::move(s));
  }
  return plan;
}

Result<MappingPlan> compilePlan(const Config& cfg, std::string_view system,
                                std::string_view entity) {
  const SystemConfig* s = cfg.findSystem(system);
  if (s == nullptr) {
    return fail("no system \"" + std::string(system) + "\" in " + cfg.path);
  }
  const EntityConfig* e = cfg.findEntity(entity);
  const SystemEntity* se = s->findEntity(entity);
  if (e == nullptr || se == nullptr) {
    return fail("system " + s->name + " maps no entity \"" + std::string(entity) + "\"");
  }
  return compilePlan(se->mapping, *e, s->name);
}

}  // namespace tandem::mappers
