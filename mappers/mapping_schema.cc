// The field mapping of one system × entity: paths, encodings, value maps, joins, constants.
// A write direction that is not invertible is an error unless the field is declared one-way.

#include <algorithm>
#include <array>
#include <map>

#include "mappers/config_internal.h"

namespace tandem::mappers::detail {
namespace {

constexpr std::array<Choice<Direction>, 3> kDirections{
    {{"both", Direction::Both}, {"read", Direction::Read}, {"write", Direction::Write}}};
constexpr std::array<Choice<Encoding>, 3> kEncodings{
    {{"native", Encoding::Native}, {"string", Encoding::String}, {"many2one", Encoding::Many2One}}};
constexpr std::array<Choice<bool>, 2> kOn{{{"create", true}, {"always", false}}};

std::optional<EmptyForm> emptyForm(ObjectReader& r, LoadContext& ctx) {
  const JNode* n = r.get("empty_as");
  if (n == nullptr) {
    return std::nullopt;
  }
  if (n->type == JType::Null) {
    return EmptyForm::Null;
  }
  if (n->isString() && n->text.empty()) {
    return EmptyForm::EmptyString;
  }
  if (n->type == JType::Bool && !n->boolean) {
    return EmptyForm::False;
  }
  ctx.diags.add(n->loc, r.pathOf("empty_as"), "expected null, \"\" or false");
  return std::nullopt;
}

std::optional<conflict::Value> valueOfType(const JNode& n, FieldType t) {
  using conflict::Value;
  switch (t) {
    case FieldType::String:
      return n.isString() ? std::optional(Value::string(n.text)) : std::nullopt;
    case FieldType::Number:
      return n.type == JType::Int || n.type == JType::Double
                 ? std::optional(Value::number(n.number))
                 : std::nullopt;
    case FieldType::Integer:
    case FieldType::DateTime:
      return n.type == JType::Int ? std::optional(Value::integer(n.integer)) : std::nullopt;
    case FieldType::Bool:
      return n.type == JType::Bool ? std::optional(Value::boolean(n.boolean)) : std::nullopt;
    case FieldType::StringSet: {
      if (n.type != JType::Array) {
        return std::nullopt;
      }
      Value::StringSet items;
      for (const auto& i : n.items) {
        if (!i.isString()) {
          return std::nullopt;
        }
        items.push_back(i.text);
      }
      return Value::stringSet(std::move(items));
    }
  }
  return std::nullopt;
}

class PathRegistry {
 public:
  explicit PathRegistry(LoadContext& ctx) : ctx_(ctx) {}
  void add(const std::string& p, const JNode& at, const std::string& path, bool writes) {
    if (!writes) {
      return;
    }
    auto [it, fresh] = seen_.emplace(p, path);
    if (!fresh) {
      ctx_.diags.add(at.loc, path, "path \"" + p + "\" is already written by " + it->second);
    }
  }

 private:
  LoadContext& ctx_;
  std::map<std::string, std::string> seen_;
};

std::string checkedPath(ObjectReader& r, LoadContext& ctx) {
  auto p = r.str("path", true);
  if (!p) {
    return "";
  }
  std::string problem =
      p->empty() ? "the path of a mapped field cannot be the whole record" : pointerProblem(*p);
  if (!problem.empty()) {
    ctx.diags.add(r.get("path")->loc, r.pathOf("path"), problem);
    return "";
  }
  return *p;
}

void parseValueMap(ObjectReader& fr, FieldMapping& m, const CanonicalField& cf, LoadContext& ctx) {
  const JNode* map = fr.get("map");
  if (map == nullptr || !expectType(*map, JType::Object, fr.pathOf("map"), ctx.diags)) {
    return;
  }
  if (cf.type != FieldType::String) {
    ctx.diags.add(map->loc, fr.pathOf("map"),
                  std::string("a value map needs a string field, not ") + fieldTypeName(cf.type));
  }
  std::map<std::string, std::string> inverse;
  for (const JNode& e : map->items) {
    std::string epath = fr.pathOf("map") + "." + e.key;
    if (!expectType(e, JType::String, epath, ctx.diags)) {
      continue;
    }
    m.map.emplace_back(e.key, e.text);
    auto [it, fresh] = inverse.emplace(e.text, e.key);
    if (!fresh && m.direction != Direction::Read) {
      ctx.diags.add(e.loc, epath,
                    "map is not invertible: \"" + it->second + "\" and \"" + e.key +
                        "\" both map to \"" + e.text +
                        "\"; declare \"direction\": \"read\" or keep one");
    }
  }
  if (const JNode* d = fr.get("default")) {
    m.has_default_in = true;
    if (d->isString()) {
      m.default_in = d->text;
    } else if (d->type != JType::Null) {
      expectType(*d, JType::String, fr.pathOf("default"), ctx.diags);
    }
  }
  m.default_out = fr.str("default_out");
}

FieldMapping parseField(const JNode& n, const std::string& path, const CanonicalField& cf,
                        LoadContext& ctx) {
  ObjectReader fr(&n, path, ctx.diags);
  FieldMapping m;
  m.field = cf.name;
  m.path = checkedPath(fr, ctx);
  m.direction = fr.choice<Direction>("direction", kDirections, Direction::Both);
  m.as = fr.choice<Encoding>("as", kEncodings, Encoding::Native);
  m.required = fr.boolean("required", false);
  m.empty_as = emptyForm(fr, ctx);
  if (cf.type == FieldType::DateTime) {
    parseTimeFormat(fr, "format", m.format);
  } else if (const JNode* f = fr.get("format")) {
    ctx.diags.add(f->loc, fr.pathOf("format"), "\"format\" is only for date-time fields");
  }
  if (const JNode* d = fr.get("delimiter")) {
    if (cf.type != FieldType::StringSet || m.as != Encoding::String) {
      ctx.diags.add(d->loc, fr.pathOf("delimiter"),
                    "\"delimiter\" is only for string-set fields with \"as\": \"string\"");
    }
    m.delimiter = fr.strOr("delimiter", ";");
    if (m.delimiter.empty()) {
      ctx.diags.add(d->loc, fr.pathOf("delimiter"), "delimiter cannot be empty");
      m.delimiter = ";";
    }
  }
  if (const JNode* d = fr.get("decimals")) {
    if (cf.type != FieldType::Number || m.as != Encoding::String) {
      ctx.diags.add(d->loc, fr.pathOf("decimals"),
                    "\"decimals\" is only for number fields with \"as\": \"string\"");
    }
    m.decimals = static_cast<int>(fr.integer("decimals", -1, 0, 12));
  }
  if (m.as == Encoding::Many2One && cf.type != FieldType::Integer &&
      !(cf.type == FieldType::String && fr.get("map") != nullptr)) {
    ctx.diags.add(n.loc, path,
                  "\"as\": \"many2one\" needs an integer field, or a string field with a map "
                  "from ids");
  }
  parseValueMap(fr, m, cf, ctx);
  if (const JNode* d = fr.get("default_on_create")) {
    m.default_on_create = valueOfType(*d, cf.type);
    if (!m.default_on_create) {
      ctx.diags.add(d->loc, fr.pathOf("default_on_create"),
                    std::string("expected a value of type ") + fieldTypeName(cf.type) + ", got " +
                        jtypeName(d->type));
    }
  }
  fr.finish();
  return m;
}

}  // namespace

MappingSpec parseMapping(const JNode& n, const std::string& path, const EntityConfig& entity,
                         const std::string& system, LoadContext& ctx) {
  (void)system;
  MappingSpec spec;
  ObjectReader r(&n, path, ctx.diags);
  PathRegistry paths(ctx);
  spec.empty_as = emptyForm(r, ctx).value_or(EmptyForm::Null);
  std::vector<std::string> names;
  for (const auto& f : entity.fields) {
    names.push_back(f.name);
  }
  if (auto fields = r.object("fields", true)) {
    for (const JNode& f : fields->node()->items) {
      std::string fpath = fields->pathOf(f.key);
      const CanonicalField* cf = entity.findField(f.key);
      if (cf == nullptr) {
        ctx.diags.add(
            f.key_loc, fpath,
            "unknown field \"" + f.key + "\" of entity " + entity.name + suggestion(f.key, names));
        continue;
      }
      FieldMapping m = parseField(f, fpath, *cf, ctx);
      paths.add(m.path, f, fpath, m.direction != Direction::Read);
      spec.fields.push_back(std::move(m));
    }
  }
  if (const JNode* joins = r.get("joins");
      joins != nullptr && expectType(*joins, JType::Array, r.pathOf("joins"), ctx.diags)) {
    for (size_t i = 0; i < joins->items.size(); ++i) {
      std::string jpath = r.pathOf("joins") + "[" + std::to_string(i) + "]";
      ObjectReader jr(&joins->items[i], jpath, ctx.diags);
      JoinMapping j;
      j.path = checkedPath(jr, ctx);
      j.fields = jr.strings("fields", true);
      j.separator = jr.strOr("separator", " ");
      j.direction = jr.choice<Direction>("direction", kDirections, Direction::Both);
      j.required = jr.boolean("required", false);
      if (j.separator.empty()) {
        ctx.diags.add(joins->items[i].loc, jr.pathOf("separator"), "separator cannot be empty");
      }
      if (const JNode* fl = jr.get("fields"); fl != nullptr && fl->type == JType::Array) {
        if (fl->items.size() < 2) {
          ctx.diags.add(fl->loc, jr.pathOf("fields"), "a join needs at least two fields");
        }
        for (size_t k = 0; k < fl->items.size(); ++k) {
          const JNode& item = fl->items[k];
          const CanonicalField* cf = item.isString() ? entity.findField(item.text) : nullptr;
          std::string ipath = jr.pathOf("fields") + "[" + std::to_string(k) + "]";
          if (item.isString() && cf == nullptr) {
            ctx.diags.add(item.loc, ipath,
                          "unknown field \"" + item.text + "\" of entity " + entity.name +
                              suggestion(item.text, names));
          } else if (cf != nullptr && cf->type != FieldType::String) {
            ctx.diags.add(item.loc, ipath, "a join needs string fields");
          }
        }
      }
      paths.add(j.path, joins->items[i], jpath, j.direction != Direction::Read);
      jr.finish();
      spec.joins.push_back(std::move(j));
    }
  }
  if (const JNode* consts = r.get("constants");
      consts != nullptr && expectType(*consts, JType::Array, r.pathOf("constants"), ctx.diags)) {
    for (size_t i = 0; i < consts->items.size(); ++i) {
      std::string cpath = r.pathOf("constants") + "[" + std::to_string(i) + "]";
      ObjectReader cr(&consts->items[i], cpath, ctx.diags);
      ConstantMapping c;
      c.path = checkedPath(cr, ctx);
      if (const JNode* v = cr.require("value")) {
        c.json = v->toJson();
      }
      c.create_only = cr.choice<bool>("on", kOn, true);
      paths.add(c.path, consts->items[i], cpath, true);
      cr.finish();
      spec.constants.push_back(std::move(c));
    }
  }
  r.finish();
  return spec;
}

}  // namespace tandem::mappers::detail
