#include "store/registry.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/dns_names.h"
#include "common/time_util.h"

namespace dnsight {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A view name becomes a directory name: keep it to a safe alphabet.
bool SafeName(std::string_view s) {
  if (s.empty() || s.size() > 128 || s[0] == '.') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

std::string DescribePredicate(const EventPredicate& p) {
  std::ostringstream os;
  os << DnsFieldName(p.field);
  switch (p.op) {
    case EventPredicate::Op::kIn:
      os << " in [";
      break;
    case EventPredicate::Op::kNotIn:
      os << " not in [";
      break;
    case EventPredicate::Op::kGe:
      os << " >= [";
      break;
    case EventPredicate::Op::kLe:
      os << " <= [";
      break;
    case EventPredicate::Op::kPresent:
      return os.str() + " present";
  }
  bool first = true;
  for (double n : p.numbers) {
    os << (first ? "" : ", ");
    // Codes read better by name in a lineage ("qtype in [TXT]", not "[16]").
    if (p.field == DnsField::kQtype)
      os << QtypeName(static_cast<uint16_t>(n));
    else if (p.field == DnsField::kRcode)
      os << RcodeName(static_cast<int>(n));
    else
      os << n;
    first = false;
  }
  for (const auto& s : p.strings) {
    os << (first ? "" : ", ") << s;
    first = false;
  }
  os << ']';
  return os.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream is(text);
  for (std::string line; std::getline(is, line);) out.push_back(line);
  return out;
}

}  // namespace

RegisteredView DescribeView(const FeatureView& v, const std::vector<std::string>& sources,
                            int64_t now_ns) {
  RegisteredView r;
  r.name = v.name;
  r.version = v.version;
  r.entity = std::string(EntityKindName(v.entity));
  r.owner = v.owner;
  r.description = v.description;
  r.sensitivity = v.sensitivity;
  r.allowed_roles = v.allowed_roles;
  r.ttl_ns = v.ttl_ns;
  r.retention_ns = v.retention_ns;
  r.feature_names = v.feature_names;
  r.definition = v.CanonicalForm();
  r.lineage.sources = sources;
  for (const auto& p : v.filter) r.lineage.filter.push_back(DescribePredicate(p));
  for (size_t i = 0; i < v.transforms.size(); ++i)
    r.lineage.transforms.push_back(v.transforms[i].source_feature + "_" +
                                   v.transforms[i].spec.name);
  r.registered_at_ns = now_ns;
  return r;
}

std::string RegisteredViewToJson(const RegisteredView& r) {
  json j = {{"name", r.name},
            {"version", r.version},
            {"entity", r.entity},
            {"owner", r.owner},
            {"description", r.description},
            {"sensitivity", r.sensitivity},
            {"allowed_roles", r.allowed_roles},
            {"ttl", FormatDuration(r.ttl_ns)},
            {"ttl_ns", r.ttl_ns},
            {"retention", r.retention_ns ? FormatDuration(r.retention_ns) : "forever"},
            {"retention_ns", r.retention_ns},
            {"features", r.feature_names},
            {"definition", r.definition},
            {"lineage",
             {{"sources", r.lineage.sources},
              {"filter", r.lineage.filter},
              {"transforms", r.lineage.transforms}}},
            {"registered_at", FormatRfc3339(r.registered_at_ns)},
            {"registered_at_ns", r.registered_at_ns}};
  return j.dump(2);
}

Result<RegisteredView> RegisteredViewFromJson(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("not a JSON object");
  RegisteredView r;
  // Reads one field; a wrong type is an error naming the field.
  std::string error;
  const auto get = [&](const char* key, auto* out, bool required) {
    using T = std::remove_pointer_t<decltype(out)>;
    auto it = j.find(key);
    if (it == j.end()) {
      if (required && error.empty()) error = std::string("missing field '") + key + "'";
      return;
    }
    try {
      *out = it->template get<T>();
    } catch (const json::exception&) {
      if (error.empty()) error = std::string("field '") + key + "' has the wrong type";
    }
  };
  get("name", &r.name, true);
  get("version", &r.version, true);
  get("entity", &r.entity, true);
  get("owner", &r.owner, false);
  get("description", &r.description, false);
  get("sensitivity", &r.sensitivity, false);
  get("allowed_roles", &r.allowed_roles, false);
  get("ttl_ns", &r.ttl_ns, false);
  get("retention_ns", &r.retention_ns, false);
  get("features", &r.feature_names, true);
  get("definition", &r.definition, false);
  get("registered_at_ns", &r.registered_at_ns, false);
  if (auto it = j.find("lineage"); it != j.end() && it->is_object()) {
    const auto strings = [&](const char* key, std::vector<std::string>* out) {
      auto f = it->find(key);
      if (f == it->end()) return;
      try {
        *out = f->get<std::vector<std::string>>();
      } catch (const json::exception&) {
        if (error.empty()) error = std::string("field 'lineage.") + key + "' has the wrong type";
      }
    };
    strings("sources", &r.lineage.sources);
    strings("filter", &r.lineage.filter);
    strings("transforms", &r.lineage.transforms);
  }
  if (!error.empty()) return Status::InvalidArgument(error);
  if (!SafeName(r.name)) return Status::InvalidArgument("invalid view name '" + r.name + "'");
  if (!SafeName(r.version))
    return Status::InvalidArgument("invalid view version '" + r.version + "'");
  if (r.sensitivity != "normal" && r.sensitivity != "sensitive")
    return Status::InvalidArgument("sensitivity must be normal or sensitive");
  if (r.ttl_ns < 0 || r.retention_ns < 0)
    return Status::InvalidArgument("ttl and retention must not be negative");
  if (r.feature_names.empty()) return Status::InvalidArgument("a view needs features");
  return r;
}

std::string DiffViews(const RegisteredView& from, const RegisteredView& to) {
  std::ostringstream os;
  os << "--- " << from.name << '@' << from.version << "\n+++ " << to.name << '@' << to.version
     << '\n';
  const auto field = [&](const char* name, const std::string& a, const std::string& b) {
    if (a != b) os << name << ": " << a << " -> " << b << '\n';
  };
  field("entity", from.entity, to.entity);
  field("owner", from.owner, to.owner);
  field("description", from.description, to.description);
  field("sensitivity", from.sensitivity, to.sensitivity);
  field("ttl", FormatDuration(from.ttl_ns), FormatDuration(to.ttl_ns));
  field("retention", FormatDuration(from.retention_ns), FormatDuration(to.retention_ns));
  const auto set_diff = [&](const char* what, const std::vector<std::string>& a,
                            const std::vector<std::string>& b) {
    const std::set<std::string> sa(a.begin(), a.end()), sb(b.begin(), b.end());
    bool header = false;
    const auto line = [&](char sign, const std::string& s) {
      if (!header) os << what << ":\n";
      header = true;
      os << sign << ' ' << s << '\n';
    };
    for (const auto& s : a)
      if (!sb.count(s)) line('-', s);
    for (const auto& s : b)
      if (!sa.count(s)) line('+', s);
  };
  set_diff("features", from.feature_names, to.feature_names);
  set_diff("definition", Lines(from.definition), Lines(to.definition));
  return os.str();
}

Result<std::unique_ptr<Registry>> Registry::Open(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError("registry: cannot create " + dir + ": " + ec.message());
  std::unique_ptr<Registry> reg(new Registry(dir));
  for (const auto& view_dir : fs::directory_iterator(dir, ec)) {
    if (!view_dir.is_directory()) continue;
    for (const auto& file : fs::directory_iterator(view_dir.path(), ec)) {
      if (file.path().extension() != ".json") continue;
      std::ifstream in(file.path());
      std::stringstream text;
      text << in.rdbuf();
      auto r = RegisteredViewFromJson(text.str());
      if (!r.ok())
        return Status::InvalidArgument("registry: " + file.path().string() + ": " +
                                       r.status().message());
      reg->views_[r->name].push_back(std::move(r.value()));
    }
  }
  if (ec) return Status::IoError("registry: cannot read " + dir + ": " + ec.message());
  for (auto& [name, versions] : reg->views_)
    std::stable_sort(versions.begin(), versions.end(), [](const auto& a, const auto& b) {
      return a.registered_at_ns < b.registered_at_ns;
    });
  return reg;
}

Status Registry::WriteFile(const RegisteredView& v) const {
  const fs::path view_dir = fs::path(dir_) / v.name;
  std::error_code ec;
  fs::create_directories(view_dir, ec);
  if (ec) return Status::IoError("registry: " + ec.message());
  const fs::path final_path = view_dir / (v.version + ".json");
  const fs::path tmp = view_dir / (v.version + ".json.tmp");
  const std::string text = RegisteredViewToJson(v) + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("registry: cannot write " + tmp.string());
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced) return Status::IoError("registry: short write to " + tmp.string());
  fs::rename(tmp, final_path, ec);
  if (ec) return Status::IoError("registry: " + ec.message());
  return Status::Ok();
}

Result<bool> Registry::Register(const RegisteredView& v) {
  if (!SafeName(v.name)) return Status::InvalidArgument("invalid view name '" + v.name + "'");
  if (!SafeName(v.version)) return Status::InvalidArgument("invalid version '" + v.version + "'");
  std::lock_guard lock(mu_);
  auto& versions = views_[v.name];
  auto it = std::find_if(versions.begin(), versions.end(),
                         [&](const RegisteredView& r) { return r.version == v.version; });
  RegisteredView stored = v;
  if (it != versions.end()) {
    // Same computation: keep the original registration time, update metadata.
    stored.registered_at_ns = it->registered_at_ns;
    if (stored.definition.empty()) stored.definition = it->definition;
  }
  if (Status s = WriteFile(stored); !s.ok()) return s;
  if (it != versions.end()) {
    *it = std::move(stored);
    return false;
  }
  versions.push_back(std::move(stored));
  return true;
}

Result<RegisteredView> Registry::Latest(std::string_view view) const {
  std::lock_guard lock(mu_);
  auto it = views_.find(view);
  if (it == views_.end() || it->second.empty())
    return Status::NotFound("unknown view '" + std::string(view) + "'");
  return it->second.back();
}

Result<RegisteredView> Registry::Get(std::string_view view, std::string_view version) const {
  std::lock_guard lock(mu_);
  auto it = views_.find(view);
  if (it == views_.end()) return Status::NotFound("unknown view '" + std::string(view) + "'");
  for (const auto& r : it->second)
    if (r.version == version) return r;
  return Status::NotFound("view '" + std::string(view) + "' has no version '" +
                          std::string(version) + "'");
}

std::vector<RegisteredView> Registry::List() const {
  std::lock_guard lock(mu_);
  std::vector<RegisteredView> out;
  for (const auto& [name, versions] : views_)
    if (!versions.empty()) out.push_back(versions.back());
  return out;
}

std::vector<RegisteredView> Registry::Versions(std::string_view view) const {
  std::lock_guard lock(mu_);
  auto it = views_.find(view);
  if (it == views_.end()) return {};
  return it->second;
}

}  // namespace dnsight
