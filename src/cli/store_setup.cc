#include "cli/store_setup.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "common/time_util.h"

namespace dnsight {

Result<FeatureStoreHandles> OpenFeatureStore(const EngineConfig& cfg, bool want_online) {
  const StoreConfig& sc = cfg.store;
  FeatureStoreHandles h;
  auto reg = Registry::Open(sc.path + "/registry");
  if (!reg.ok()) return reg.status();
  h.registry = std::move(reg.value());
  if (sc.offline) {
    OfflineOptions o;
    o.dir = sc.path + "/offline";
    o.partition_ns = sc.offline_partition_ns;
    o.sync = sc.offline_sync;
    auto off = OfflineStore::Open(o);
    if (!off.ok()) return off.status();
    h.offline = std::move(off.value());
  }
  if (want_online && sc.online == "embedded") {
    auto on = OpenEmbeddedOnlineStore(sc.path + "/online");
    if (!on.ok()) return on.status();
    h.online = std::move(on.value());
  } else if (want_online && sc.online == "redis") {
    RedisOptions r;
    r.host = sc.redis_host;
    r.port = sc.redis_port;
    r.unix_socket = sc.redis_unix_socket;
    r.db = sc.redis_db;
    r.key_prefix = sc.redis_key_prefix;
    auto on = OpenRedisOnlineStore(r);
    if (!on.ok()) return on.status();
    h.online = std::move(on.value());
  }
  return h;
}

std::vector<std::string> SourceNames(const EngineConfig& cfg) {
  std::vector<std::string> out;
  for (const auto& s : cfg.sources) {
    if (s.type == "dnstap_tcp")
      out.push_back(s.type + ":" + s.address + ":" + std::to_string(s.port));
    else if (s.type == "pcap_live")
      out.push_back(s.type + ":" + s.interface);
    else
      out.push_back(s.type + ":" + s.path);
  }
  return out;
}

Status RegisterConfigViews(Registry& registry, const EngineConfig& cfg, int64_t now_ns) {
  const auto sources = SourceNames(cfg);
  for (const auto& v : cfg.views) {
    auto added = registry.Register(DescribeView(v, sources, now_ns));
    if (!added.ok()) return added.status();
    if (*added)
      std::fprintf(stderr, "dnsight: registered view %s version %s\n", v.name.c_str(),
                   v.version.c_str());
  }
  return Status::Ok();
}

bool ParseBound(const std::string& text, const char* flag, int64_t* out) {
  if (text.empty()) return true;
  const auto t = ParseRfc3339(text);
  if (!t) {
    std::fprintf(stderr, "dnsight: %s: bad RFC 3339 time '%s'\n", flag, text.c_str());
    return false;
  }
  *out = *t;
  return true;
}

Status SelectViews(const std::string& names, EngineConfig* cfg) {
  if (names.empty()) return Status::Ok();
  std::vector<FeatureView> kept;
  std::istringstream is(names);
  for (std::string name; std::getline(is, name, ',');) {
    bool found = false;
    for (const auto& v : cfg->views) {
      if (v.name == name) {
        kept.push_back(v);
        found = true;
      }
    }
    if (!found) return Status::NotFound("no view '" + name + "' in " + cfg->path);
  }
  // The built-in hosting views belong to the web and hosts inputs, which still run: keep
  // them, so their rows always have a view to land in.
  for (const auto& v : cfg->views) {
    if (v.builtin.empty()) continue;
    const bool named = std::any_of(kept.begin(), kept.end(),
                                   [&](const FeatureView& k) { return k.name == v.name; });
    if (!named) kept.push_back(v);
  }
  cfg->views = std::move(kept);
  return Status::Ok();
}

}  // namespace dnsight
