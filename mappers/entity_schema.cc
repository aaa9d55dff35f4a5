// Entities: canonical fields with types, normalisation, policies, match keys, delete policy.

#include <algorithm>
#include <array>

#include "mappers/config_internal.h"

namespace tandem::mappers::detail {
namespace {

using conflict::PolicyKind;

constexpr std::array<Choice<FieldType>, 6> kFieldTypes{{{"string", FieldType::String},
                                                        {"number", FieldType::Number},
                                                        {"integer", FieldType::Integer},
                                                        {"bool", FieldType::Bool},
                                                        {"date-time", FieldType::DateTime},
                                                        {"string-set", FieldType::StringSet}}};

constexpr std::array<Choice<PolicyKind>, 6> kPolicies{{{"lww", PolicyKind::Lww},
                                                       {"prefer", PolicyKind::Prefer},
                                                       {"manual", PolicyKind::Manual},
                                                       {"max", PolicyKind::Max},
                                                       {"min", PolicyKind::Min},
                                                       {"union", PolicyKind::Union}}};

constexpr std::array<Choice<DeletePolicyKind>, 4> kDeletePolicies{
    {{"update_wins", DeletePolicyKind::UpdateWins},
     {"delete_wins", DeletePolicyKind::DeleteWins},
     {"prefer", DeletePolicyKind::Prefer},
     {"manual", DeletePolicyKind::Manual}}};

constexpr std::array<Choice<CaseFold>, 3> kCases{
    {{"none", CaseFold::None}, {"lower", CaseFold::Lower}, {"upper", CaseFold::Upper}}};

void checkSystems(const JNode* list_node, const std::vector<std::string>& systems,
                  const std::string& path, LoadContext& ctx) {
  if (list_node == nullptr || list_node->type != JType::Array) {
    return;
  }
  for (size_t i = 0; i < list_node->items.size(); ++i) {
    const JNode& item = list_node->items[i];
    if (item.isString() && std::find(ctx.system_names.begin(), ctx.system_names.end(), item.text) ==
                               ctx.system_names.end()) {
      ctx.diags.add(
          item.loc, path + "[" + std::to_string(i) + "]",
          "unknown system \"" + item.text + "\"" + suggestion(item.text, ctx.system_names));
    }
  }
  (void)systems;
}

// "lww" or {"kind": "prefer", "systems": ["fin", "erp"]}.
template <class Kind, size_t N>
void parsePolicy(const JNode& n, const std::string& path, const std::array<Choice<Kind>, N>& kinds,
                 Kind prefer_kind, Kind& kind, std::vector<std::string>& prefer, LoadContext& ctx) {
  const JNode* kind_node = &n;
  std::string kind_path = path;
  std::optional<ObjectReader> r;
  if (n.isObject()) {
    r.emplace(&n, path, ctx.diags);
    kind_node = r->require("kind");
    kind_path = r->pathOf("kind");
    prefer = r->strings("systems");
    checkSystems(r->get("systems"), prefer, r->pathOf("systems"), ctx);
  }
  if (kind_node == nullptr || !expectType(*kind_node, JType::String, kind_path, ctx.diags)) {
    return;
  }
  std::vector<std::string_view> names;
  bool found = false;
  for (const auto& c : kinds) {
    names.push_back(c.name);
    if (c.name == kind_node->text) {
      kind = c.value;
      found = true;
    }
  }
  if (!found) {
    ctx.diags.add(kind_node->loc, kind_path, unknownNameMessage("policy", kind_node->text, names));
  } else if (kind == prefer_kind && prefer.empty()) {
    ctx.diags.add(n.loc, path, "policy \"prefer\" needs a non-empty \"systems\" list");
  } else if (kind != prefer_kind && !prefer.empty()) {
    ctx.diags.add(n.loc, path, "\"systems\" is only allowed with policy \"prefer\"");
  }
  if (r) {
    r->finish();
  }
}

bool policyFitsType(PolicyKind p, FieldType t) {
  switch (p) {
    case PolicyKind::Union:
      return t == FieldType::StringSet;
    case PolicyKind::Max:
    case PolicyKind::Min:
      return t == FieldType::Number || t == FieldType::Integer || t == FieldType::DateTime ||
             t == FieldType::String;
    default:
      return true;
  }
}

}  // namespace

FieldType parseFieldType(ObjectReader& r, std::string_view key) {
  return r.choice<FieldType>(key, kFieldTypes, FieldType::String, true);
}

EntityConfig parseEntity(const JNode& n, const std::string& path, LoadContext& ctx) {
  EntityConfig e;
  ObjectReader r(&n, path, ctx.diags);
  e.name = r.str("name", true).value_or("");
  if (const JNode* p = r.get("policy")) {
    parsePolicy(*p, r.pathOf("policy"), kPolicies, PolicyKind::Prefer, e.default_policy.kind,
                e.default_policy.prefer, ctx);
  }
  e.system_priority = r.strings("system_priority");
  checkSystems(r.get("system_priority"), e.system_priority, r.pathOf("system_priority"), ctx);
  if (const JNode* p = r.get("delete_policy")) {
    parsePolicy(*p, r.pathOf("delete_policy"), kDeletePolicies, DeletePolicyKind::Prefer,
                e.delete_policy.kind, e.delete_policy.prefer, ctx);
  }
  e.tombstone_retention_days = r.integer("tombstone_retention_days", 90, 1, 36500);

  if (const JNode* fields = r.require("fields");
      fields != nullptr && expectType(*fields, JType::Object, r.pathOf("fields"), ctx.diags)) {
    for (const JNode& f : fields->items) {
      std::string fpath = r.pathOf("fields") + "." + f.key;
      ObjectReader fr(&f, fpath, ctx.diags);
      CanonicalField cf;
      cf.name = f.key;
      cf.type = parseFieldType(fr, "type");
      cf.policy = e.default_policy;
      if (const JNode* p = fr.get("policy")) {
        cf.policy = {};
        parsePolicy(*p, fr.pathOf("policy"), kPolicies, PolicyKind::Prefer, cf.policy.kind,
                    cf.policy.prefer, ctx);
        if (!policyFitsType(cf.policy.kind, cf.type)) {
          ctx.diags.add(p->loc, fr.pathOf("policy"),
                        std::string("policy \"") + conflict::policyName(cf.policy.kind) +
                            "\" does not fit type " + fieldTypeName(cf.type));
        }
      } else if (!policyFitsType(cf.policy.kind, cf.type)) {
        ctx.diags.add(f.loc, fpath,
                      std::string("entity policy \"") + conflict::policyName(cf.policy.kind) +
                          "\" does not fit type " + fieldTypeName(cf.type) +
                          "; give this field its own policy");
      }
      if (auto nr = fr.object("normalize")) {
        cf.normalize.trim = nr->boolean("trim", true);
        cf.normalize.collapse_spaces = nr->boolean("collapse_spaces", false);
        cf.normalize.fold = nr->choice<CaseFold>("case", kCases, CaseFold::None);
        nr->finish();
      }
      if (auto owner = fr.str("owned_by")) {
        cf.owned_by = *owner;
        if (std::find(ctx.system_names.begin(), ctx.system_names.end(), *owner) ==
            ctx.system_names.end()) {
          ctx.diags.add(fr.get("owned_by")->loc, fr.pathOf("owned_by"),
                        "unknown system \"" + *owner + "\"" + suggestion(*owner, ctx.system_names));
        }
      }
      fr.finish();
      e.fields.push_back(std::move(cf));
    }
    std::sort(e.fields.begin(), e.fields.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
  }
  e.match_keys = r.strings("match_keys", true);
  if (const JNode* mk = r.get("match_keys"); mk != nullptr && mk->type == JType::Array) {
    if (mk->items.empty()) {
      ctx.diags.add(mk->loc, r.pathOf("match_keys"), "at least one match key is needed");
    }
    std::vector<std::string> names;
    for (const auto& f : e.fields) {
      names.push_back(f.name);
    }
    for (size_t i = 0; i < mk->items.size(); ++i) {
      const JNode& k = mk->items[i];
      if (k.isString() && e.findField(k.text) == nullptr) {
        ctx.diags.add(k.loc, r.pathOf("match_keys") + "[" + std::to_string(i) + "]",
                      "unknown field \"" + k.text + "\"" + suggestion(k.text, names));
      }
    }
  }
  r.finish();
  return e;
}

}  // namespace tandem::mappers::detail
