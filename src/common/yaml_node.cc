#include "common/yaml_node.h"

#include <cstdlib>
#include <sstream>

#include "common/time_util.h"

namespace dnsight {

void YamlNode::Fail(const std::string& msg) const {
  throw_(Location() + ": " + msg);
  // A Thrower that returns breaks its contract; stop rather than continue on bad input.
  std::abort();
}

std::string YamlNode::Location() const {
  std::ostringstream os;
  os << file_;
  const YAML::Mark m = node_.Mark();
  if (m.line >= 0) os << ':' << (m.line + 1) << ':' << (m.column + 1);
  os << ": " << (path_.empty() ? "(top level)" : path_);
  return os.str();
}

std::string YamlNode::FileLine() const {
  return file_ + ":" + std::to_string(node_.Mark().line + 1);
}

YamlNode YamlNode::operator[](const std::string& key) const {
  return YamlNode(node_[key], file_, path_.empty() ? key : path_ + "." + key, throw_);
}

YamlNode YamlNode::At(size_t i) const {
  return YamlNode(node_[i], file_, path_ + "[" + std::to_string(i) + "]", throw_);
}

void YamlNode::ExpectMap() const {
  if (!node_.IsMap()) Fail("expected a mapping");
}

void YamlNode::ExpectSequence() const {
  if (!node_.IsSequence()) Fail("expected a list");
}

std::string YamlNode::KeyText(const YAML::Node& key) const {
  // A key written as a list or a map ({[a]: 1}) has no text: a config error, not a throw
  // from yaml-cpp's conversion.
  if (!key.IsScalar()) YamlNode(key, file_, path_, throw_).Fail("a key must be a plain name");
  return key.Scalar();
}

void YamlNode::OnlyKeys(std::initializer_list<const char*> allowed) const {
  ExpectMap();
  for (const auto& kv : node_) {
    const std::string k = KeyText(kv.first);
    bool ok = false;
    for (const char* a : allowed) ok |= k == a;
    if (!ok) {
      std::string list;
      for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
      YamlNode(kv.first, file_, path_.empty() ? k : path_ + "." + k, throw_)
          .Fail("unknown key '" + k + "' (expected one of: " + list + ")");
    }
  }
}

std::vector<std::string> YamlNode::Keys() const {
  std::vector<std::string> keys;
  for (const auto& kv : node_) keys.push_back(KeyText(kv.first));
  return keys;
}

std::string YamlNode::Str() const {
  if (!node_.IsScalar()) Fail("expected a string");
  return node_.Scalar();
}

std::vector<std::string> YamlNode::StrList() const {
  std::vector<std::string> out;
  if (node_.IsSequence()) {
    for (size_t i = 0; i < node_.size(); ++i) out.push_back(At(i).Str());
  } else {
    out.push_back(Str());
  }
  return out;
}

int64_t YamlNode::Int(int64_t lo, int64_t hi) const {
  int64_t v = 0;
  try {
    v = node_.as<int64_t>();
  } catch (const YAML::Exception&) {
    Fail("expected an integer");
  }
  if (v < lo || v > hi)
    Fail("must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return v;
}

int64_t YamlNode::Duration(bool allow_zero) const {
  const std::string text = Str();
  const auto d = ParseDuration(text);
  constexpr int64_t kMaxDuration = 366LL * 86400 * 1'000'000'000;
  if (d && *d > kMaxDuration) Fail("duration longer than 366d");
  if (!d || (*d == 0 && !allow_zero))
    Fail("expected a duration like 10s, 5m, 1h (got '" + text + "')");
  return *d;
}

double YamlNode::Double() const {
  try {
    return node_.as<double>();
  } catch (const YAML::Exception&) {
    Fail("expected a number");
  }
}

double YamlNode::Double(double lo, double hi) const {
  const double v = Double();
  if (!(v >= lo && v <= hi)) {
    std::ostringstream os;
    os << "must be between " << lo << " and " << hi;
    Fail(os.str());
  }
  return v;
}

bool YamlNode::Bool() const {
  try {
    return node_.as<bool>();
  } catch (const YAML::Exception&) {
    Fail("expected true or false");
  }
}

}  // namespace dnsight
