// YamlNode: a yaml-cpp node plus where it came from, so every config error can name the
// file, line, column and field path, e.g.
//   dnsight.yaml:42:15: views[1].aggregations[0].kind: unknown aggregation kind 'cnt'
//
// Errors are raised through the Thrower the root node was made with (each config format
// throws its own exception type); config load is the one place exceptions are allowed.
// Unknown keys are errors too (OnlyKeys), so a typo never silently falls back to a default.
//
// Thread-safety: a value; yaml-cpp nodes are not shared across threads here.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace dnsight {

class YamlNode {
 public:
  // Throws an exception with `message`. REQUIRES: never returns.
  using Thrower = void (*)(const std::string& message);

  YamlNode(YAML::Node node, std::string file, std::string path, Thrower thrower)
      : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)), throw_(thrower) {}

  // Throws "<Location()>: msg".
  [[noreturn]] void Fail(const std::string& msg) const;
  // "file:line:col: field.path" ("(top level)" for the root).
  std::string Location() const;
  // "file:line", for messages that point at an entry.
  std::string FileLine() const;

  bool IsMap() const { return node_.IsMap(); }
  bool IsSequence() const { return node_.IsSequence(); }
  bool IsScalar() const { return node_.IsScalar(); }
  bool IsNull() const { return node_.IsNull(); }
  bool Has(const std::string& key) const { return node_.IsMap() && node_[key]; }
  const std::string& path() const { return path_; }

  YamlNode operator[](const std::string& key) const;
  YamlNode At(size_t i) const;
  size_t size() const { return node_.size(); }

  void ExpectMap() const;
  void ExpectSequence() const;
  // Rejects keys not in `allowed`, naming the ones that are.
  void OnlyKeys(std::initializer_list<const char*> allowed) const;
  std::vector<std::string> Keys() const;  // fails on a key that is not a plain scalar

  std::string Str() const;
  // A scalar or a list of scalars.
  std::vector<std::string> StrList() const;
  int64_t Int(int64_t lo, int64_t hi) const;
  double Double() const;
  // A duration like "10s", "5m", "1h" in nanoseconds, at most 366 days (so sums of
  // windows, lateness and panes stay far from int64 overflow); zero only if allowed.
  int64_t Duration(bool allow_zero = false) const;
  double Double(double lo, double hi) const;
  bool Bool() const;

 private:
  std::string KeyText(const YAML::Node& key) const;
  YAML::Node node_;
  std::string file_;
  std::string path_;
  Thrower throw_;
};

}  // namespace dnsight
