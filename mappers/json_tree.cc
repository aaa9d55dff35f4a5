#include "mappers/json_tree.h"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cassert>

namespace tandem::mappers {
namespace {

// Input stream for rapidjson::Reader that knows the line and column of the first character of
// the most recent token (string, number, literal, '{' or '['), skipping strings and comments.
class TrackingStream {
 public:
  using Ch = char;
  explicit TrackingStream(std::string_view text) : text_(text) {}

  Ch Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  Ch Take() {
    if (pos_ >= text_.size()) {
      return '\0';
    }
    char c = text_[pos_];
    track(c);
    ++pos_;
    if (c == '\n') {
      ++line_;
      col_ = 1;
    } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++col_;  // count code points, not UTF-8 continuation bytes
    }
    return c;
  }
  size_t Tell() const { return pos_; }
  Ch* PutBegin() {
    assert(false);
    return nullptr;
  }
  void Put(Ch) { assert(false); }
  void Flush() {}
  size_t PutEnd(Ch*) { return 0; }

  uint32_t tokenLine() const { return tok_line_; }
  uint32_t tokenCol() const { return tok_col_; }

 private:
  void markToken() {
    tok_line_ = line_;
    tok_col_ = col_;
  }
  void track(char c) {
    if (skip_next_) {
      skip_next_ = false;
      return;
    }
    switch (state_) {
      case State::String:
        if (escape_) {
          escape_ = false;
        } else if (c == '\\') {
          escape_ = true;
        } else if (c == '"') {
          state_ = State::Code;
        }
        return;
      case State::LineComment:
        if (c == '\n') {
          state_ = State::Code;
          after_sep_ = true;
        }
        return;
      case State::BlockComment:
        if (prev_star_ && c == '/') {
          state_ = State::Code;
          after_sep_ = true;
        }
        prev_star_ = c == '*';
        return;
      case State::Code:
        break;
    }
    char next = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
    if (c == '"') {
      state_ = State::String;
      markToken();
      after_sep_ = false;
    } else if (c == '/' && (next == '/' || next == '*')) {
      state_ = next == '/' ? State::LineComment : State::BlockComment;
      prev_star_ = false;
      skip_next_ = true;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == ':' ||
               c == ']' || c == '}') {
      after_sep_ = true;
    } else if (c == '{' || c == '[') {
      markToken();
      after_sep_ = true;
    } else if (after_sep_) {
      markToken();
      after_sep_ = false;
    }
  }

  enum class State { Code, String, LineComment, BlockComment };
  std::string_view text_;
  size_t pos_ = 0;
  uint32_t line_ = 1;
  uint32_t col_ = 1;
  uint32_t tok_line_ = 1;
  uint32_t tok_col_ = 1;
  State state_ = State::Code;
  bool escape_ = false;
  bool prev_star_ = false;
  bool skip_next_ = false;
  bool after_sep_ = true;
};

class TreeBuilder {
 public:
  TreeBuilder(const TrackingStream& is, std::shared_ptr<const std::string> file)
      : is_(is), file_(std::move(file)) {}

  bool Null() { return add(JNode{}); }
  bool Bool(bool b) {
    JNode n;
    n.type = JType::Bool;
    n.boolean = b;
    return add(std::move(n));
  }
  bool Int(int i) { return Int64(i); }
  bool Uint(unsigned u) { return Int64(u); }
  bool Int64(int64_t i) {
    JNode n;
    n.type = JType::Int;
    n.integer = i;
    n.number = static_cast<double>(i);
    return add(std::move(n));
  }
  bool Uint64(uint64_t u) {
    if (u <= static_cast<uint64_t>(INT64_MAX)) {
      return Int64(static_cast<int64_t>(u));
    }
    return Double(static_cast<double>(u));
  }
  bool Double(double d) {
    JNode n;
    n.type = JType::Double;
    n.number = d;
    return add(std::move(n));
  }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return false; }
  bool String(const char* s, rapidjson::SizeType len, bool) {
    JNode n;
    n.type = JType::String;
    n.text.assign(s, len);
    return add(std::move(n));
  }
  bool Key(const char* s, rapidjson::SizeType len, bool) {
    pending_key_.assign(s, len);
    pending_key_loc_ = here();
    return true;
  }
  bool StartObject() { return open(JType::Object); }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool StartArray() { return open(JType::Array); }
  bool EndArray(rapidjson::SizeType) { return close(); }

  JNode& root() { return root_; }
  bool tooDeep() const { return too_deep_; }

 private:
  Loc here() const { return Loc{file_, is_.tokenLine(), is_.tokenCol()}; }
  JNode* place(JNode&& n) {
    n.loc = here();
    if (stack_.empty()) {
      root_ = std::move(n);
      return &root_;
    }
    JNode* parent = stack_.back();
    if (parent->type == JType::Object) {
      n.key = std::move(pending_key_);
      n.key_loc = pending_key_loc_;
    }
    parent->items.push_back(std::move(n));
    return &parent->items.back();
  }
  bool add(JNode&& n) {
    place(std::move(n));
    return true;
  }
  bool open(JType t) {
    if (stack_.size() >= static_cast<size_t>(kConfigMaxDepth)) {
      too_deep_ = true;
      return false;
    }
    JNode n;
    n.type = t;
    stack_.push_back(place(std::move(n)));
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  const TrackingStream& is_;
  std::shared_ptr<const std::string> file_;
  JNode root_;
  std::vector<JNode*> stack_;
  std::string pending_key_;
  Loc pending_key_loc_;
  bool too_deep_ = false;
};

void lineCol(std::string_view text, size_t offset, uint32_t& line, uint32_t& col) {
  line = 1;
  col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++col;
    }
  }
}

void writeNode(const JNode& n, rapidjson::Writer<rapidjson::StringBuffer>& w) {
  switch (n.type) {
    case JType::Null:
      w.Null();
      break;
    case JType::Bool:
      w.Bool(n.boolean);
      break;
    case JType::Int:
      w.Int64(n.integer);
      break;
    case JType::Double:
      w.Double(n.number);
      break;
    case JType::String:
      w.String(n.text.data(), static_cast<rapidjson::SizeType>(n.text.size()));
      break;
    case JType::Array:
      w.StartArray();
      for (const auto& c : n.items) {
        writeNode(c, w);
      }
      w.EndArray();
      break;
    case JType::Object:
      w.StartObject();
      for (const auto& c : n.items) {
        w.Key(c.key.data(), static_cast<rapidjson::SizeType>(c.key.size()));
        writeNode(c, w);
      }
      w.EndObject();
      break;
  }
}

}  // namespace

const char* jtypeName(JType t) {
  switch (t) {
    case JType::Null:
      return "null";
    case JType::Bool:
      return "bool";
    case JType::Int:
      return "integer";
    case JType::Double:
      return "number";
    case JType::String:
      return "string";
    case JType::Array:
      return "array";
    case JType::Object:
      return "object";
  }
  return "?";
}

const JNode* JNode::get(std::string_view k) const {
  for (const auto& c : items) {
    if (c.key == k) {
      return &c;
    }
  }
  return nullptr;
}

std::string JNode::toJson() const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  writeNode(*this, w);
  return std::string(buf.GetString(), buf.GetSize());
}

Result<JNode> parseJsonWithLocations(std::string_view text, const std::string& file_name) {
  if (text.size() > kConfigMaxBytes) {
    return fail(file_name + ": file is larger than " + std::to_string(kConfigMaxBytes) + " bytes");
  }
  auto file = std::make_shared<const std::string>(file_name);
  TrackingStream is(text);
  TreeBuilder builder(is, file);
  rapidjson::Reader reader;
  constexpr unsigned kFlags = rapidjson::kParseCommentsFlag | rapidjson::kParseTrailingCommasFlag |
                              rapidjson::kParseValidateEncodingFlag;
  rapidjson::ParseResult ok = reader.Parse<kFlags>(is, builder);
  if (!ok) {
    uint32_t line = 0;
    uint32_t col = 0;
    lineCol(text, ok.Offset(), line, col);
    std::string where = file_name + ":" + std::to_string(line) + ":" + std::to_string(col);
    if (builder.tooDeep()) {
      where =
          file_name + ":" + std::to_string(is.tokenLine()) + ":" + std::to_string(is.tokenCol());
      return fail(where + ": parse error: nesting deeper than " + std::to_string(kConfigMaxDepth) +
                  " levels");
    }
    return fail(where + ": parse error: " + rapidjson::GetParseError_En(ok.Code()));
  }
  return std::move(builder.root());
}

}  // namespace tandem::mappers
