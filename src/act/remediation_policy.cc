#include "act/remediation_policy.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/time_util.h"
#include "common/yaml_node.h"
#include "engine/config.h"  // ConfigError

namespace dnsight {
namespace {

using Node = YamlNode;

constexpr int64_t kMaxTimeoutNs = 3600 * kNanosPerSecond;

[[noreturn]] void ThrowConfigError(const std::string& message) {
  throw ConfigError(message);
}

bool IsPlaceholderName(std::string_view name) {
  return name == "entity" || name == "class" || name == "view" || name == "decision_id" ||
         name == "severity";
}

// Calls fn(name) for every `{identifier}` in text; returns false when fn does.
template <typename Fn>
bool ForEachPlaceholder(std::string_view text, Fn fn) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{') continue;
    size_t j = i + 1;
    while (j < text.size() && ((text[j] >= 'a' && text[j] <= 'z') || text[j] == '_')) ++j;
    if (j == i + 1 || j >= text.size() || text[j] != '}') continue;
    if (!fn(text.substr(i + 1, j - i - 1), i, j + 1)) return false;
    i = j;
  }
  return true;
}

bool HasPlaceholder(std::string_view text) {
  bool found = false;
  ForEachPlaceholder(text, [&](std::string_view, size_t, size_t) {
    found = true;
    return false;
  });
  return found;
}

// A template: every `{identifier}` must be a known placeholder.
std::string Template(const Node& n) {
  std::string text = n.Str();
  ForEachPlaceholder(text, [&](std::string_view name, size_t, size_t) {
    if (!IsPlaceholderName(name))
      n.Fail("unknown placeholder '{" + std::string(name) +
             "}' (expected {entity}, {class}, {view}, {decision_id} or {severity})");
    return true;
  });
  return text;
}

std::vector<std::string> Argv(const Node& n) {
  n.ExpectSequence();
  if (n.size() == 0) n.Fail("a command needs at least the program");
  std::vector<std::string> argv;
  for (size_t i = 0; i < n.size(); ++i) argv.push_back(Template(n.At(i)));
  if (argv[0].empty()) n.At(0).Fail("the program must not be empty");
  if (HasPlaceholder(argv[0]))
    n.At(0).Fail("the program cannot be a placeholder; put placeholders in arguments");
  return argv;
}

int64_t Duration(const Node& n, int64_t lo, int64_t hi) {
  const std::string text = n.Str();
  const auto d = text == "0" ? std::optional<int64_t>(0) : ParseDuration(text);
  if (!d) n.Fail("expected a duration such as 250ms, 10s, 15m or 1h, got '" + text + "'");
  if (*d < lo || *d > hi)
    n.Fail("must be between " + FormatDuration(lo) + " and " + FormatDuration(hi));
  return *d;
}

// http(s)://authority[/path...]; no placeholder before the path.
std::string Url(const Node& n) {
  const std::string url = Template(n);
  const size_t sep = url.find("://");
  const std::string scheme = sep == std::string::npos ? "" : url.substr(0, sep);
  if (scheme != "http" && scheme != "https")
    n.Fail("expected an http:// or https:// URL, got '" + url + "'");
  const size_t path_at = url.find('/', sep + 3);
  const std::string authority =
      url.substr(sep + 3, path_at == std::string::npos ? std::string::npos : path_at - sep - 3);
  if (authority.empty()) n.Fail("the URL has no host");
  if (authority.find('{') != std::string::npos)
    n.Fail("placeholders are not allowed in the URL's host or port");
  if (authority.find_first_of("@ ") != std::string::npos)
    n.Fail("the URL's host must not hold credentials or spaces");
  return url;
}

Confidence ConfidenceField(const Node& n) {
  const std::string text = n.Str();
  const Confidence c = ParseConfidence(text);
  if (c == Confidence::kUnknown) n.Fail("expected low, medium or high, got '" + text + "'");
  return c;
}

std::vector<std::string> OneOf(const Node& n, std::initializer_list<const char*> allowed,
                               const char* what) {
  std::vector<std::string> values = n.StrList();
  for (size_t i = 0; i < values.size(); ++i) {
    bool ok = false;
    for (const char* a : allowed) ok |= values[i] == a;
    if (!ok) {
      std::string list;
      for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
      (n.IsSequence() ? n.At(i) : n)
          .Fail("unknown " + std::string(what) + " '" + values[i] + "' (expected " + list + ")");
    }
  }
  if (values.empty()) n.Fail("expected at least one value");
  return values;
}

Precondition ParsePrecondition(const Node& n) {
  n.ExpectMap();
  Precondition p;
  p.where = n.FileLine();
  static constexpr const char* kKinds[] = {
      "command",         "http", "not_in_maintenance", "min_confidence", "max_blast_radius",
      "no_recent_change"};
  std::vector<std::string> kinds;
  for (const char* k : kKinds)
    if (n.Has(k)) kinds.emplace_back(k);
  if (kinds.size() != 1)
    n.Fail(std::string(kinds.empty() ? "no" : "more than one") +
           " precondition kind (expected exactly one of command, http, not_in_maintenance, "
           "min_confidence, max_blast_radius, no_recent_change)");
  const std::string& kind = kinds[0];
  if (kind == "command") {
    n.OnlyKeys({"command", "timeout"});
    p.kind = Precondition::Kind::kCommand;
    p.argv = Argv(n["command"]);
  } else if (kind == "http") {
    n.OnlyKeys({"http", "expect_status", "timeout"});
    p.kind = Precondition::Kind::kHttp;
    p.url = Url(n["http"]);
    if (n.Has("expect_status"))
      p.expect_status = static_cast<int>(n["expect_status"].Int(100, 599));
  } else if (kind == "not_in_maintenance") {
    n.OnlyKeys({"not_in_maintenance"});
    p.kind = Precondition::Kind::kNotInMaintenance;
    if (!n["not_in_maintenance"].Bool())
      n["not_in_maintenance"].Fail("only `true` is meaningful; remove the entry instead");
  } else if (kind == "min_confidence") {
    n.OnlyKeys({"min_confidence"});
    p.kind = Precondition::Kind::kMinConfidence;
    p.min_confidence = ConfidenceField(n["min_confidence"]);
  } else if (kind == "max_blast_radius") {
    n.OnlyKeys({"max_blast_radius"});
    p.kind = Precondition::Kind::kMaxBlastRadius;
    p.max_blast_radius = static_cast<uint64_t>(n["max_blast_radius"].Int(1, 1'000'000));
  } else {
    n.OnlyKeys({"no_recent_change"});
    p.kind = Precondition::Kind::kNoRecentChange;
    p.window_ns = Duration(n["no_recent_change"], 1, 30LL * 86400 * kNanosPerSecond);
  }
  if (n.Has("timeout")) p.timeout_ns = Duration(n["timeout"], 1, kMaxTimeoutNs);
  return p;
}

RemediationAction ParseAction(const std::string& name, const Node& n) {
  if (name == "escalate") n.Fail("'escalate' is reserved; rules use it to mean a human decides");
  if (!IsSafeArgumentValue(name) || name.find(':') != std::string::npos)
    n.Fail("action name '" + name + "' must be letters, digits, '.', '_' or '-'");
  n.OnlyKeys({"kind", "description", "command", "url", "method", "body", "headers", "timeout",
              "rate_limit", "cooldown", "max_entities", "dry_run", "preconditions"});
  RemediationAction a;
  a.name = name;
  a.where = n.FileLine();
  if (!n.Has("kind")) n.Fail("missing 'kind' (command or http)");
  const std::string kind = n["kind"].Str();
  if (kind == "command") {
    a.kind = RunbookStep::Kind::kCommand;
    for (const char* k : {"url", "method", "body", "headers"})
      if (n.Has(k)) n[k].Fail("only http actions take '" + std::string(k) + "'");
    if (!n.Has("command")) n.Fail("a command action needs 'command' (a list: program, args...)");
    a.command = Argv(n["command"]);
  } else if (kind == "http") {
    a.kind = RunbookStep::Kind::kHttp;
    if (n.Has("command")) n["command"].Fail("only command actions take 'command'");
    if (!n.Has("url")) n.Fail("an http action needs 'url'");
    a.url = Url(n["url"]);
    if (n.Has("method")) {
      a.method = OneOf(n["method"], {"GET", "POST", "PUT", "PATCH", "DELETE"}, "method")[0];
      if (n["method"].IsSequence()) n["method"].Fail("expected one method");
    }
    if (n.Has("body")) a.body = Template(n["body"]);
    if (n.Has("headers")) {
      const Node h = n["headers"];
      h.ExpectMap();
      for (const std::string& key : h.Keys()) {
        if (key.empty() || key.find_first_of(" :\r\n") != std::string::npos)
          h[key].Fail("bad header name '" + key + "'");
        a.headers.emplace_back(key, Template(h[key]));
      }
    }
  } else {
    n["kind"].Fail("expected command or http, got '" + kind + "'");
  }
  if (n.Has("timeout")) a.timeout_ns = Duration(n["timeout"], 1, kMaxTimeoutNs);
  if (n.Has("rate_limit"))
    a.rate_limit_per_hour = static_cast<uint32_t>(n["rate_limit"].Int(1, 100'000));
  if (n.Has("cooldown")) a.cooldown_ns = Duration(n["cooldown"], 0, 30LL * 86400 * kNanosPerSecond);
  if (n.Has("max_entities"))
    a.max_entities_per_hour = static_cast<uint32_t>(n["max_entities"].Int(1, 100'000));
  if (n.Has("dry_run")) a.dry_run = n["dry_run"].Bool();
  if (n.Has("preconditions")) {
    const Node list = n["preconditions"];
    list.ExpectSequence();
    for (size_t i = 0; i < list.size(); ++i)
      a.preconditions.push_back(ParsePrecondition(list.At(i)));
  }
  return a;
}

PolicyRule ParseRule(size_t number, const Node& n,
                     const std::map<std::string, RemediationAction, std::less<>>& actions) {
  n.OnlyKeys({"match", "action", "description"});
  PolicyRule r;
  r.number = number;
  r.where = n.FileLine();
  if (!n.Has("match")) n.Fail("missing 'match'");
  if (!n.Has("action")) n.Fail("missing 'action' (an action name or escalate)");
  const Node m = n["match"];
  m.OnlyKeys({"class", "severity", "min_confidence", "max_blast_radius", "failure_domain"});
  if (!m.Has("class")) m.Fail("missing 'class' (a list of classes, or \"*\" for any)");
  const Node cls = m["class"];
  if (cls.IsScalar() && cls.Str() == "*") {
    r.any_class = true;
  } else {
    r.classes = cls.StrList();
    if (r.classes.empty()) cls.Fail("expected at least one class, or \"*\"");
    for (size_t i = 0; i < r.classes.size(); ++i) {
      const std::string& c = r.classes[i];
      const bool ok = !c.empty() && std::all_of(c.begin(), c.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
      });
      if (!ok) (cls.IsSequence() ? cls.At(i) : cls).Fail("bad class name '" + c + "'");
    }
  }
  if (m.Has("severity"))
    r.severities = OneOf(m["severity"], {"page", "ticket", "info"}, "severity");
  if (m.Has("failure_domain"))
    r.failure_domains =
        OneOf(m["failure_domain"], {"dns_config", "infrastructure", "application", "abuse"},
              "failure domain");
  if (m.Has("min_confidence")) r.min_confidence = ConfidenceField(m["min_confidence"]);
  if (m.Has("max_blast_radius"))
    r.max_blast_radius = static_cast<uint64_t>(m["max_blast_radius"].Int(1, 1'000'000));
  r.action = n["action"].Str();
  if (!r.escalates() && actions.find(r.action) == actions.end()) {
    std::string defined;
    for (const auto& [name, a] : actions) defined += (defined.empty() ? "" : ", ") + name;
    n["action"].Fail("unknown action '" + r.action + "' (defined: " +
                     (defined.empty() ? std::string("none") : defined) + "; or escalate)");
  }
  return r;
}

bool Contains(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

std::string RuleList(const std::vector<size_t>& rules) {
  std::string s;
  for (size_t i = 0; i < rules.size(); ++i) {
    if (i) s += i + 1 == rules.size() ? " and " : ", ";
    s += std::to_string(rules[i]);
  }
  return s;
}

}  // namespace

Confidence ParseConfidence(std::string_view text) {
  if (text == "low") return Confidence::kLow;
  if (text == "medium") return Confidence::kMedium;
  if (text == "high") return Confidence::kHigh;
  return Confidence::kUnknown;
}

std::string_view ConfidenceName(Confidence c) {
  switch (c) {
    case Confidence::kLow:
      return "low";
    case Confidence::kMedium:
      return "medium";
    case Confidence::kHigh:
      return "high";
    case Confidence::kUnknown:
      break;
  }
  return "unknown";
}

std::string_view Precondition::Name() const {
  switch (kind) {
    case Kind::kCommand:
      return "command";
    case Kind::kHttp:
      return "http";
    case Kind::kNotInMaintenance:
      return "not_in_maintenance";
    case Kind::kMinConfidence:
      return "min_confidence";
    case Kind::kMaxBlastRadius:
      return "max_blast_radius";
    case Kind::kNoRecentChange:
      return "no_recent_change";
  }
  return "";
}

std::string Precondition::Describe() const {
  std::string s(Name());
  s += ": ";
  switch (kind) {
    case Kind::kCommand:
      for (size_t i = 0; i < argv.size(); ++i) s += (i ? " " : "") + argv[i];
      break;
    case Kind::kHttp:
      s += url + " expect " + std::to_string(expect_status);
      break;
    case Kind::kNotInMaintenance:
      s += "true";
      break;
    case Kind::kMinConfidence:
      s += ConfidenceName(min_confidence);
      break;
    case Kind::kMaxBlastRadius:
      s += std::to_string(max_blast_radius);
      break;
    case Kind::kNoRecentChange:
      s += FormatDuration(window_ns);
      break;
  }
  return s;
}

bool PolicyRule::Matches(const Decision& d, uint64_t blast_radius) const {
  if (!any_class && !Contains(classes, d.klass)) return false;
  if (!severities.empty() && !Contains(severities, d.severity)) return false;
  if (!failure_domains.empty() && !Contains(failure_domains, d.failure_domain)) return false;
  if (min_confidence != Confidence::kUnknown && ParseConfidence(d.confidence) < min_confidence)
    return false;
  if (max_blast_radius && blast_radius > *max_blast_radius) return false;
  return true;
}

PlaceholderValues PlaceholderValues::From(const Decision& d) {
  return PlaceholderValues{d.entity, d.klass, d.view, d.id, d.severity};
}

bool IsSafeArgumentValue(std::string_view v) {
  if (v.empty() || v.size() > 253 || v.front() == '-') return false;
  if (v.find("..") != std::string_view::npos) return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
  });
}

Result<std::string> SubstitutePlaceholders(std::string_view text, const PlaceholderValues& v) {
  std::string out;
  size_t copied = 0;
  std::string error;
  ForEachPlaceholder(text, [&](std::string_view name, size_t begin, size_t end) {
    const std::string* value = nullptr;
    if (name == "entity") value = &v.entity;
    if (name == "class") value = &v.klass;
    if (name == "view") value = &v.view;
    if (name == "decision_id") value = &v.decision_id;
    if (name == "severity") value = &v.severity;
    if (value == nullptr) return true;  // not a placeholder: copied as text
    if (!IsSafeArgumentValue(*value)) {
      std::string shown = value->substr(0, 64);
      for (char& c : shown)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
      error = "{" + std::string(name) + "} value '" + shown +
              "' is outside the safe set [A-Za-z0-9._:-] (or empty, or starts with '-', or "
              "holds '..')";
      return false;
    }
    out.append(text.substr(copied, begin - copied));
    out.append(*value);
    copied = end;
    return true;
  });
  if (!error.empty()) return Status::InvalidArgument(error);
  out.append(text.substr(copied));
  return out;
}

Result<RunbookStep> BuildActionStep(const RemediationAction& a, const PlaceholderValues& v) {
  RunbookStep step;
  step.kind = a.kind;
  if (a.kind == RunbookStep::Kind::kCommand) {
    for (const auto& arg : a.command) {
      Result<std::string> s = SubstitutePlaceholders(arg, v);
      if (!s.ok()) return s.status();
      step.argv.push_back(std::move(s).value());
    }
    return step;
  }
  step.method = a.method;
  Result<std::string> url = SubstitutePlaceholders(a.url, v);
  if (!url.ok()) return url.status();
  step.url = std::move(url).value();
  Result<std::string> body = SubstitutePlaceholders(a.body, v);
  if (!body.ok()) return body.status();
  step.body = std::move(body).value();
  for (const auto& [k, tmpl] : a.headers) {
    Result<std::string> value = SubstitutePlaceholders(tmpl, v);
    if (!value.ok()) return value.status();
    step.headers.emplace_back(k, std::move(value).value());
  }
  return step;
}

Result<RunbookStep> BuildPreconditionStep(const Precondition& p, const PlaceholderValues& v) {
  RunbookStep step;
  if (p.kind == Precondition::Kind::kCommand) {
    step.kind = RunbookStep::Kind::kCommand;
    for (const auto& arg : p.argv) {
      Result<std::string> s = SubstitutePlaceholders(arg, v);
      if (!s.ok()) return s.status();
      step.argv.push_back(std::move(s).value());
    }
    return step;
  }
  if (p.kind != Precondition::Kind::kHttp)
    return Status::Internal("precondition " + std::string(p.Name()) + " runs no step");
  step.kind = RunbookStep::Kind::kHttp;
  step.method = "GET";
  Result<std::string> url = SubstitutePlaceholders(p.url, v);
  if (!url.ok()) return url.status();
  step.url = std::move(url).value();
  return step;
}

RemediationPolicy RemediationPolicy::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot read remediation policy");
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

RemediationPolicy RemediationPolicy::Parse(const std::string& yaml_text, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(name + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": YAML syntax error: " + e.msg);
  }
  const Node top(root, name, "", ThrowConfigError);
  top.OnlyKeys({"actions", "rules"});
  RemediationPolicy policy;
  policy.source_ = name;
  if (top.Has("actions")) {
    const Node actions = top["actions"];
    actions.ExpectMap();
    for (const std::string& key : actions.Keys()) {
      if (policy.actions_.count(key)) actions[key].Fail("action '" + key + "' defined twice");
      policy.actions_.emplace(key, ParseAction(key, actions[key]));
    }
  }
  if (!top.Has("rules")) top.Fail("missing 'rules' (an ordered list of match -> action)");
  const Node rules = top["rules"];
  rules.ExpectSequence();
  for (size_t i = 0; i < rules.size(); ++i)
    policy.rules_.push_back(ParseRule(i + 1, rules.At(i), policy.actions_));
  return policy;
}

const RemediationAction* RemediationPolicy::FindAction(std::string_view name) const {
  const auto it = actions_.find(name);
  return it == actions_.end() ? nullptr : &it->second;
}

PolicyVerdict RemediationPolicy::Evaluate(const Decision& d, uint64_t blast_radius) const {
  PolicyVerdict v;
  std::vector<const PolicyRule*> matched;
  for (const PolicyRule& r : rules_) {
    if (r.Matches(d, blast_radius)) {
      matched.push_back(&r);
      v.rules.push_back(r.number);
    }
  }
  const std::string what = "class " + d.klass + " severity " + d.severity + " confidence " +
                           (d.confidence.empty() ? std::string("(none)") : d.confidence) + " on " +
                           d.entity;
  if (matched.empty()) {
    v.kind = PolicyVerdict::Kind::kNoPolicy;
    v.reason = "no policy for " + what;
    return v;
  }
  for (const PolicyRule* r : matched) {
    if (r->action != matched.front()->action) {
      v.kind = PolicyVerdict::Kind::kUnclear;
      v.reason = "policy unclear: rules " + RuleList(v.rules) + " match " + what +
                 " but name different actions (" + matched.front()->action + ", " + r->action + ")";
      return v;
    }
  }
  if (matched.front()->escalates()) {
    v.kind = PolicyVerdict::Kind::kEscalate;
    v.reason = "rule " + RuleList(v.rules) + " says escalate for " + what;
    return v;
  }
  v.kind = PolicyVerdict::Kind::kAction;
  v.action = FindAction(matched.front()->action);
  if (v.action == nullptr) {  // cannot happen after Parse; fail closed all the same
    v.kind = PolicyVerdict::Kind::kUnclear;
    v.reason = "rule names undefined action " + matched.front()->action;
    return v;
  }
  v.reason = "rule " + RuleList(v.rules) + " selects " + v.action->name;
  return v;
}

}  // namespace dnsight
