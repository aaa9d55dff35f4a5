// System record → canonical values (toCanonical), with exact per-field errors.

#include <cmath>

#include "mappers/plan.h"
#include "mappers/transforms.h"

namespace tandem::mappers {
namespace {

using conflict::Value;

const char* jsonTypeName(const rapidjson::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "bool";
    case rapidjson::kObjectType:
      return "object";
    case rapidjson::kArrayType:
      return "array";
    case rapidjson::kStringType:
      return "string";
    case rapidjson::kNumberType:
      return v.IsInt64() || v.IsUint64() ? "integer" : "number";
  }
  return "?";
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  out.append(s.substr(0, 64));
  if (s.size() > 64) {
    out += "...";
  }
  return out + "\"";
}

class Reader {
 public:
  Reader(const FieldStep& step, FieldErrors& errors) : step_(step), errors_(errors) {}

  // Returns false after recording an error.
  bool read(const rapidjson::Value* v, Value& out) {
    if (v == nullptr || v->IsNull() || (v->IsString() && v->GetStringLength() == 0) ||
        (v->IsFalse() && step_.type != FieldType::Bool)) {
      return empty(out);
    }
    if (step_.spec.as == Encoding::Many2One) {
      if (v->IsArray()) {
        if (v->Empty()) {
          return empty(out);
        }
        v = &(*v)[0];
      }
      if (!v->IsInt64()) {
        return error(std::string("expected [id, name] or an integer id, got ") + jsonTypeName(*v));
      }
      if (step_.type == FieldType::Integer) {
        out = Value::integer(v->GetInt64());
        return true;
      }
      return mapped(std::to_string(v->GetInt64()), out);
    }
    bool as_string = step_.spec.as == Encoding::String;
    switch (step_.type) {
      case FieldType::String:
        if (!v->IsString()) {
          return wrongType("string", *v);
        }
        return mapped(std::string(v->GetString(), v->GetStringLength()), out);
      case FieldType::Number:
        if (as_string) {
          return decimalText(*v, out);
        }
        if (!v->IsNumber()) {
          return wrongType("number", *v);
        }
        out = Value::number(v->GetDouble());
        return true;
      case FieldType::Integer:
        if (as_string) {
          if (!v->IsString()) {
            return wrongType("string", *v);
          }
          return integerText(std::string_view(v->GetString(), v->GetStringLength()), out);
        }
        if (v->IsUint64() && !v->IsInt64()) {
          return error("integer out of range");
        }
        if (!v->IsInt64()) {
          return wrongType("integer", *v);
        }
        out = Value::integer(v->GetInt64());
        return true;
      case FieldType::Bool:
        return boolean(*v, as_string, out);
      case FieldType::DateTime:
        return dateTime(*v, as_string, out);
      case FieldType::StringSet:
        return stringSet(*v, as_string, out);
    }
    return false;
  }

 private:
  bool empty(Value& out) {
    if (step_.spec.required) {
      return error("required field is missing or empty");
    }
    out = Value::null();
    return true;
  }
  bool error(std::string message) {
    errors_.push_back(FieldError{step_.spec.field, step_.spec.path, std::move(message)});
    return false;
  }
  bool wrongType(const char* expected, const rapidjson::Value& v) {
    return error(std::string("expected ") + expected + ", got " + jsonTypeName(v));
  }
  bool mapped(std::string s, Value& out) {
    if (!step_.spec.map.empty()) {
      normalizeString(s, Normalize{});
      auto it = step_.forward.find(s);
      if (it != step_.forward.end()) {
        s = it->second;
      } else if (step_.spec.has_default_in) {
        if (!step_.spec.default_in) {
          return empty(out);
        }
        s = *step_.spec.default_in;
      } else {
        return error("value " + quoted(s) + " is not in the map and the map has no default");
      }
    }
    normalizeString(s, step_.norm);
    if (s.empty()) {
      return empty(out);
    }
    out = Value::string(std::move(s));
    return true;
  }
  bool decimalText(const rapidjson::Value& v, Value& out) {
    if (!v.IsString()) {
      return wrongType("string", v);
    }
    std::string_view s(v.GetString(), v.GetStringLength());
    auto d = parseDecimal(s);
    if (!d) {
      return error("expected a decimal number, got " + quoted(s));
    }
    out = Value::number(*d);
    return true;
  }
  bool integerText(std::string_view s, Value& out) {
    auto i = parseInteger(s);
    if (!i) {
      return error("expected an integer, got " + quoted(s));
    }
    out = Value::integer(*i);
    return true;
  }
  bool boolean(const rapidjson::Value& v, bool as_string, Value& out) {
    if (as_string) {
      if (!v.IsString()) {
        return wrongType("string", v);
      }
      std::string_view s(v.GetString(), v.GetStringLength());
      if (s != "true" && s != "false") {
        return error("expected \"true\" or \"false\", got " + quoted(s));
      }
      out = Value::boolean(s == "true");
      return true;
    }
    if (!v.IsBool()) {
      return wrongType("bool", v);
    }
    out = Value::boolean(v.GetBool());
    return true;
  }
  bool dateTime(const rapidjson::Value& v, bool as_string, Value& out) {
    TimeFormat f = step_.spec.format;
    if (isEpochFormat(f) && !as_string) {
      if (!v.IsInt64()) {
        return wrongType("integer", v);
      }
      int64_t x = v.GetInt64();
      if (f == TimeFormat::EpochS && (x > INT64_MAX / 1000 || x < INT64_MIN / 1000)) {
        return error("date-time out of range");
      }
      out = Value::integer(f == TimeFormat::EpochS ? x * 1000 : x);
      return true;
    }
    if (!v.IsString()) {
      return wrongType("string", v);
    }
    std::string_view s(v.GetString(), v.GetStringLength());
    auto ms = parseTime(s, f);
    if (!ms) {
      return error("cannot parse " + quoted(s) + " as " + timeFormatName(f));
    }
    out = Value::integer(*ms);
    return true;
  }
  bool stringSet(const rapidjson::Value& v, bool as_string, Value& out) {
    Value::StringSet items;
    auto add = [&](std::string s) {
      normalizeString(s, step_.norm);
      if (!s.empty()) {
        items.push_back(std::move(s));
      }
    };
    if (as_string) {
      if (!v.IsString()) {
        return wrongType("string", v);
      }
      std::string_view s(v.GetString(), v.GetStringLength());
      const std::string& delim = step_.spec.delimiter;
      size_t pos = 0;
      while (true) {
        size_t end = s.find(delim, pos);
        add(std::string(s.substr(pos, end == std::string_view::npos ? end : end - pos)));
        if (end == std::string_view::npos) {
          break;
        }
        pos = end + delim.size();
      }
    } else {
      if (!v.IsArray()) {
        return wrongType("array", v);
      }
      for (const auto& item : v.GetArray()) {
        if (!item.IsString()) {
          return error(std::string("expected an array of strings, found ") + jsonTypeName(item));
        }
        add(std::string(item.GetString(), item.GetStringLength()));
      }
    }
    if (items.empty()) {
      return empty(out);
    }
    out = Value::stringSet(std::move(items));
    return true;
  }

  const FieldStep& step_;
  FieldErrors& errors_;
};

void readJoin(const JoinStep& step, const rapidjson::Value& record, CanonicalValues& out,
              FieldErrors& errors) {
  const rapidjson::Value* v = resolve(step.ptr, record);
  std::vector<std::string> parts(step.spec.fields.size());
  if (v != nullptr && v->IsString()) {
    std::string s(v->GetString(), v->GetStringLength());
    normalizeString(s, Normalize{});
    // The last n-1 fields take the last n-1 separated words; the first takes the rest.
    for (size_t i = parts.size(); i-- > 1;) {
      size_t at = s.rfind(step.spec.separator);
      if (at == std::string::npos) {
        break;
      }
      parts[i] = s.substr(at + step.spec.separator.size());
      s.resize(at);
    }
    parts[0] = std::move(s);
  } else if (v != nullptr && !v->IsNull() && !v->IsFalse()) {
    errors.push_back(FieldError{step.spec.fields.front(), step.ptr.text,
                                std::string("expected string, got ") + jsonTypeName(*v)});
    return;
  }
  bool all_empty = true;
  for (size_t i = 0; i < parts.size(); ++i) {
    normalizeString(parts[i], step.norms[i]);
    all_empty = all_empty && parts[i].empty();
    out[step.spec.fields[i]] = parts[i].empty() ? Value::null() : Value::string(parts[i]);
  }
  if (all_empty && step.spec.required) {
    errors.push_back(
        FieldError{step.spec.fields.front(), step.ptr.text, "required field is missing or empty"});
  }
}

}  // namespace

std::expected<CanonicalValues, FieldErrors> toCanonical(const MappingPlan& plan,
                                                        const rapidjson::Value& record) {
  const PlanImpl& p = plan.impl();
  FieldErrors errors;
  CanonicalValues out;
  out.reserve(p.read_fields.size());
  if (!record.IsObject()) {
    errors.push_back(
        FieldError{"*", "", std::string("expected a record object, got ") + jsonTypeName(record)});
    return std::unexpected(std::move(errors));
  }
  for (const FieldStep& step : p.fields) {
    if (!step.read) {
      continue;
    }
    Value v;
    if (Reader(step, errors).read(resolve(step.ptr, record), v)) {
      out[step.spec.field] = std::move(v);
    }
  }
  for (const JoinStep& step : p.joins) {
    if (step.read) {
      readJoin(step, record, out, errors);
    }
  }
  if (!errors.empty()) {
    return std::unexpected(std::move(errors));
  }
  return out;
}

}  // namespace tandem::mappers
