#include "hosting/hosting_config.h"

#include "common/time_util.h"
#include "hosting/host_metrics.h"

namespace dnsight {
namespace {}  // namespace

void ParseWebConfig(const YamlNode& n, WebConfig* out) {
  n.OnlyKeys({"logs", "pane", "windows", "watermark_delay", "max_entities"});
  WebFeatureOptions& f = out->features;
  if (n.Has("pane")) {
    f.pane_ns = n["pane"].Duration();
    // Windows over 1m hop on minute boundaries, which must be pane ends.
    if (60'000'000'000 % f.pane_ns != 0)
      n["pane"].Fail("the pane must divide 1m (e.g. 5s, 10s, 15s, 30s, 1m)");
  }
  if (n.Has("watermark_delay")) f.watermark_delay_ns = n["watermark_delay"].Duration(true);
  if (n.Has("max_entities"))
    f.max_entities = static_cast<size_t>(n["max_entities"].Int(1, 10'000'000));
  if (n.Has("windows")) {
    const YamlNode w = n["windows"];
    w.ExpectSequence();
    f.windows_ns.clear();
    for (size_t i = 0; i < w.size(); ++i) {
      const int64_t d = w.At(i).Duration();
      if (d % f.pane_ns != 0)
        w.At(i).Fail("window " + FormatDuration(d) + " is not a multiple of the pane (" +
                     FormatDuration(f.pane_ns) + ")");
      f.windows_ns.push_back(d);
    }
    if (f.windows_ns.empty()) w.Fail("at least one window");
  } else if (n.Has("pane")) {
    // The default windows must fit the pane too, or a window would cover fewer seconds
    // than its rates divide by.
    for (int64_t d : f.windows_ns)
      if (d % f.pane_ns != 0)
        n["pane"].Fail("default window " + FormatDuration(d) + " is not a multiple of the pane (" +
                       FormatDuration(f.pane_ns) + "); set 'windows'");
  }
  if (!n.Has("logs")) n.Fail("missing 'logs'");
  const YamlNode logs = n["logs"];
  logs.ExpectSequence();
  for (size_t i = 0; i < logs.size(); ++i) {
    const YamlNode l = logs.At(i);
    l.OnlyKeys({"path", "format", "follow", "service", "node", "utc_offset"});
    WebLogConfig c;
    if (!l.Has("path")) l.Fail("missing 'path'");
    c.path = l["path"].Str();
    const std::string format = l.Has("format") ? l["format"].Str() : "combined";
    if (format == "nginx_error") {
      c.error_log = true;
    } else if (!ParseWebLogFormat(format, &c.format)) {
      l["format"].Fail("unknown format '" + format + "' (expected combined, json or nginx_error)");
    }
    if (l.Has("follow")) c.follow = l["follow"].Bool();
    if (l.Has("service")) c.service = l["service"].Str();
    if (l.Has("node")) c.node = l["node"].Str();
    if (l.Has("utc_offset")) c.utc_offset_s = l["utc_offset"].Int(-14 * 3600, 14 * 3600);
    out->logs.push_back(std::move(c));
  }
}

void ParseHostsConfig(const YamlNode& n, HostsConfig* out) {
  n.OnlyKeys({"targets", "interval", "timeout", "max_body_bytes", "degraded"});
  if (n.Has("interval")) out->interval_ns = n["interval"].Duration();
  if (n.Has("timeout")) out->timeout_ns = n["timeout"].Duration();
  if (n.Has("max_body_bytes"))
    out->max_body_bytes = static_cast<size_t>(n["max_body_bytes"].Int(1024, 1LL << 30));
  if (!n.Has("targets")) n.Fail("missing 'targets'");
  const YamlNode t = n["targets"];
  t.ExpectSequence();
  for (size_t i = 0; i < t.size(); ++i) {
    const YamlNode e = t.At(i);
    e.OnlyKeys({"node", "url"});
    if (!e.Has("node") || !e.Has("url")) e.Fail("a target needs 'node' and 'url'");
    HostTargetConfig c{e["node"].Str(), e["url"].Str()};
    if (c.url.rfind("http://", 0) != 0 && c.url.rfind("https://", 0) != 0)
      e["url"].Fail("expected an http:// or https:// URL");
    out->targets.push_back(std::move(c));
  }
  if (n.Has("degraded")) {
    const YamlNode d = n["degraded"];
    d.OnlyKeys({"cpu_steal_ratio", "cpu_iowait_ratio", "load1_per_core", "memory_pressure",
                "disk_io_busy_ratio", "tcp_retrans_ratio", "net_drops_per_s", "restarts"});
    HostDegradedThresholds& h = out->degraded;
    const std::pair<const char*, double*> fields[] = {
        {"cpu_steal_ratio", &h.cpu_steal_ratio},       {"cpu_iowait_ratio", &h.cpu_iowait_ratio},
        {"load1_per_core", &h.load1_per_core},         {"memory_pressure", &h.memory_pressure},
        {"disk_io_busy_ratio", &h.disk_io_busy_ratio}, {"tcp_retrans_ratio", &h.tcp_retrans_ratio},
        {"net_drops_per_s", &h.net_drops_per_s},       {"restarts", &h.restarts}};
    for (const auto& [key, field] : fields)
      if (d.Has(key)) *field = d[key].Double();
  }
}

FeatureView MakeHostView(const HostsConfig& hosts) {
  FeatureView v;
  v.name = "host";
  v.entity = EntityKind::kNode;
  v.builtin = "host";
  v.owner = "dnsight";
  v.description = "per node, from node_exporter scrapes: CPU, memory, disk, network, restarts";
  v.windows_ns = {hosts.interval_ns};
  v.feature_names = HostFeatureNames();
  v.ttl_ns = 4 * hosts.interval_ns;
  v.Finalize();
  return v;
}

}  // namespace dnsight
