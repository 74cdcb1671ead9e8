#include "serve/http_api.h"

#include <httplib.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <vector>

#include "common/time_util.h"
#include "engine/row_writer.h"  // AppendJsonString, AppendJsonNumber
#include "serve/feature_json.h"
#include "serve/static_files.h"
#include "store/point_in_time.h"

namespace dnsight {
namespace {

using nlohmann::json;

constexpr std::string_view kJson = "application/json";

int HttpStatusFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kIoError:
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

void SetError(httplib::Response& res, int status, std::string_view message) {
  std::string body = "{\"error\":";
  AppendJsonString(message, &body);
  body.append("}\n");
  res.status = status;
  res.set_content(body, std::string(kJson));
}

// Parses a JSON request body. nlohmann reports syntax errors only by throwing; the throw
// is caught here, at the edge, and becomes a message naming the position.
bool ParseJsonBody(const std::string& body, json* out, std::string* error) {
  try {
    *out = json::parse(body);
  } catch (const json::parse_error& e) {
    std::string_view what = e.what();
    // Drop the "[json.exception.parse_error.101] " tag; keep "parse error at line 1, ...".
    if (const size_t tag = what.find("] "); tag != std::string_view::npos)
      what.remove_prefix(tag + 2);
    *error = "malformed JSON: " + std::string(what);
    return false;
  }
  if (!out->is_object()) {
    *error = "the request body must be a JSON object";
    return false;
  }
  return true;
}

// Reads body[key] as a non-empty array of strings of at most `max` entries.
Status StringArray(const json& body, const char* key, size_t max, std::vector<std::string>* out) {
  auto it = body.find(key);
  if (it == body.end()) return Status::InvalidArgument(std::string("missing field '") + key + "'");
  if (!it->is_array())
    return Status::InvalidArgument(std::string("'") + key + "' must be an array of strings");
  if (it->empty()) return Status::InvalidArgument(std::string("'") + key + "' is empty");
  if (it->size() > max)
    return Status::OutOfRange(std::string("'") + key + "' has " + std::to_string(it->size()) +
                              " entries; the limit is " + std::to_string(max));
  out->clear();
  out->reserve(it->size());
  for (const auto& e : *it) {
    if (!e.is_string())
      return Status::InvalidArgument(std::string("'") + key + "' must be an array of strings");
    out->push_back(e.get<std::string>());
  }
  return Status::Ok();
}

std::vector<std::string> SplitComma(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const size_t comma = s.find(',');
    std::string_view part = s.substr(0, comma);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

json ViewSummary(const RegisteredView& v, bool readable) {
  return {{"name", v.name},
          {"version", v.version},
          {"entity", v.entity},
          {"owner", v.owner},
          {"description", v.description},
          {"sensitivity", v.sensitivity},
          {"ttl", v.ttl_ns ? FormatDuration(v.ttl_ns) : "none"},
          {"ttl_ns", v.ttl_ns},
          {"retention", v.retention_ns ? FormatDuration(v.retention_ns) : "forever"},
          {"features", v.feature_names},
          {"registered_at", FormatRfc3339(v.registered_at_ns)},
          {"readable", readable}};
}

}  // namespace

Status ParseListenAddress(const std::string& listen, std::string* host, int* port) {
  std::string_view s = listen;
  size_t colon;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return Status::InvalidArgument("api.listen: expected [address]:port, got '" + listen + "'");
    *host = std::string(s.substr(1, close - 1));
    colon = close + 1;
  } else {
    colon = s.rfind(':');
    if (colon == std::string_view::npos)
      return Status::InvalidArgument("api.listen: expected host:port, got '" + listen + "'");
    *host = std::string(s.substr(0, colon));
    if (host->empty()) *host = "0.0.0.0";
  }
  const std::string_view p = s.substr(colon + 1);
  int v = -1;
  const auto r = std::from_chars(p.data(), p.data() + p.size(), v);
  if (p.empty() || r.ec != std::errc() || r.ptr != p.data() + p.size() || v < 0 || v > 65535)
    return Status::InvalidArgument("api.listen: bad port in '" + listen + "'");
  *port = v;
  return Status::Ok();
}

struct HttpApi::Impl {
  explicit Impl(HttpApi& a) : api(a) {}

  HttpApi& api;
  std::unique_ptr<httplib::Server> server;
  bool tls = false;
  std::atomic<bool> loop_exited{false};

  // One request from authentication to audit.
  struct Call {
    Call(const httplib::Request& rq, httplib::Response& rs, std::string_view a, bool read = false)
        : req(rq), res(rs), action(a), feature_read(read) {}
    const httplib::Request& req;
    httplib::Response& res;
    std::string_view action;
    bool feature_read = false;
    std::optional<Principal> who;
    std::vector<std::string> views;  // as named in the request, for the audit log
    uint64_t entities = 0;
  };

  void Fail(Call& c, int status, std::string_view message) {
    if (status == 400 || status == 413)
      api.counters_.bad_requests.fetch_add(1, std::memory_order_relaxed);
    if (status == 403) api.counters_.forbidden.fetch_add(1, std::memory_order_relaxed);
    SetError(c.res, status, message);
  }
  void Fail(Call& c, const Status& s) { Fail(c, HttpStatusFor(s), s.message()); }

  bool Authenticate(Call& c) {
    auto p = api.auth_.Authenticate(c.req.get_header_value("Authorization"));
    if (!p.ok()) {
      api.counters_.unauthenticated.fetch_add(1, std::memory_order_relaxed);
      SetError(c.res, 401, p.status().message());
      c.res.set_header("WWW-Authenticate", "Bearer");
      return false;
    }
    c.who = std::move(p.value());
    return true;
  }

  bool Require(Call& c, Role role, std::string_view what) {
    if (Authenticator::AtLeast(*c.who, role)) return true;
    Fail(c, 403,
         "role '" + std::string(RoleName(c.who->role)) + "' may not " + std::string(what) +
             " (needs " + std::string(RoleName(role)) + ")");
    return false;
  }

  // Every named view must be registered and readable by the caller.
  bool CheckViews(Call& c, std::span<const std::string> names) {
    for (const auto& name : names) {
      auto snap = api.service_.Snapshot(name);
      if (!snap.ok()) {
        Fail(c, snap.status());
        return false;
      }
      if (!Authenticator::CanRead(*c.who, (*snap)->latest)) {
        Fail(c, 403,
             "view '" + name + "' is sensitive; role '" + std::string(RoleName(c.who->role)) +
                 "' may not read it");
        return false;
      }
    }
    return true;
  }

  // Writes the audit records (one per view named, or one without a view) and, for a
  // feature read, refuses to answer when they cannot be written.
  void Finish(Call& c) {
    AuditRecord r;
    r.ts_ns = api.clock_.NowNs();
    if (c.who) {
      r.who = c.who->name;
      r.role = RoleName(c.who->role);
    }
    r.action = c.action;
    r.entities = c.entities;
    r.status = c.res.status;
    r.remote = c.req.remote_addr;
    Status s;
    if (c.views.empty()) {
      s = api.audit_.Append(r);
    } else {
      for (const auto& v : c.views) {
        r.view = v;
        if (Status one = api.audit_.Append(r); !one.ok() && s.ok()) s = one;
      }
    }
    if (!s.ok()) {
      // Logged on the first failure and then once per 10000, so a full disk does not
      // also flood stderr; the counter has the exact number.
      const uint64_t failures =
          api.counters_.audit_failures.fetch_add(1, std::memory_order_relaxed);
      if (failures % 10000 == 0)
        std::fprintf(stderr, "dnsight api: %s (%llu audit failures)\n", s.message().c_str(),
                     static_cast<unsigned long long>(failures + 1));
      if (c.feature_read) SetError(c.res, 500, "audit log unavailable; request refused");
    }
  }

  void Health(const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"ok\"}\n", std::string(kJson));
  }

  void GetOne(const httplib::Request& req, httplib::Response& res) {
    Call c{req, res, "get", /*feature_read=*/true};
    Serve(c, [&] {
      json body;
      std::string error;
      if (!ParseJsonBody(req.body, &body, &error)) return Fail(c, 400, error);
      std::vector<std::string> views;
      if (Status s = StringArray(body, "views", api.limits_.max_views_per_request, &views); !s.ok())
        return Fail(c, s);
      c.views = views;
      auto it = body.find("entity");
      if (it == body.end() || !it->is_string())
        return Fail(c, 400, "missing field 'entity' (a string)");
      const std::string entity = it->get<std::string>();
      c.entities = 1;
      if (!CheckViews(c, views)) return;
      thread_local FeatureResponse resp;
      if (Status s = api.service_.GetFeatures(views, std::span(&entity, 1), &resp); !s.ok())
        return Fail(c, s);
      bool found = false;
      for (const auto& vf : resp.views)
        found = found || vf.entities[0].status != FeatureStatus::kAbsent;
      if (!found) {
        std::string names;
        for (const auto& v : views) names += (names.empty() ? "" : ", ") + v;
        return Fail(c, 404, "entity '" + entity + "' has no features in " + names);
      }
      std::string out;
      out.reserve(256 + 64 * (views.size() + 1) * 16);
      AppendEntityFeaturesJson(entity, views, resp, 0, &out);
      out.push_back('\n');
      res.set_content(std::move(out), std::string(kJson));
    });
  }

  void GetBatch(const httplib::Request& req, httplib::Response& res) {
    Call c{req, res, "batch_get", /*feature_read=*/true};
    Serve(c, [&] {
      json body;
      std::string error;
      if (!ParseJsonBody(req.body, &body, &error)) return Fail(c, 400, error);
      std::vector<std::string> views;
      if (Status s = StringArray(body, "views", api.limits_.max_views_per_request, &views); !s.ok())
        return Fail(c, s);
      c.views = views;
      if (auto e = body.find("entities"); e != body.end() && e->is_array()) c.entities = e->size();
      std::vector<std::string> entities;
      if (Status s = StringArray(body, "entities", api.limits_.max_batch_entities, &entities);
          !s.ok()) {
        if (s.code() == StatusCode::kOutOfRange)
          return Fail(c, 413,
                      "batch of " + std::to_string(c.entities) + " entities is over the limit of " +
                          std::to_string(api.limits_.max_batch_entities));
        return Fail(c, s);
      }
      if (!CheckViews(c, views)) return;
      thread_local FeatureResponse resp;
      if (Status s = api.service_.GetFeatures(views, entities, &resp); !s.ok()) return Fail(c, s);
      std::string out;
      out.reserve(64 + entities.size() * views.size() * 512);
      out.append("{\"results\":[");
      for (size_t ei = 0; ei < entities.size(); ++ei) {
        if (ei) out.push_back(',');
        AppendEntityFeaturesJson(entities[ei], views, resp, ei, &out);
      }
      out.append("]}\n");
      res.set_content(std::move(out), std::string(kJson));
    });
  }

  void Historical(const httplib::Request& req, httplib::Response& res) {
    Call c{req, res, "historical", /*feature_read=*/true};
    Serve(c, [&] {
      if (!Require(c, Role::kTrainer, "run point-in-time retrieval")) return;
      Spine spine;
      std::vector<std::string> view_texts;
      std::string format;
      const std::string content_type = req.get_header_value("Content-Type");
      if (content_type.rfind("text/csv", 0) == 0) {
        view_texts = SplitComma(req.get_param_value("views"));
        if (view_texts.empty()) return Fail(c, 400, "a CSV spine needs ?views=a,b");
        format = req.has_param("format") ? req.get_param_value("format") : "csv";
        auto parsed = ParseSpineCsv(req.body);
        if (!parsed.ok()) return Fail(c, 400, "spine: " + parsed.status().message());
        spine = std::move(parsed.value());
      } else {
        json body;
        std::string error;
        if (!ParseJsonBody(req.body, &body, &error)) return Fail(c, 400, error);
        if (Status s = StringArray(body, "views", api.limits_.max_views_per_request, &view_texts);
            !s.ok())
          return Fail(c, s);
        format = "jsonl";
        if (auto f = body.find("format"); f != body.end()) {
          if (!f->is_string()) return Fail(c, 400, "'format' must be \"jsonl\" or \"csv\"");
          format = f->get<std::string>();
        }
        if (Status s = SpineFromJson(body, &spine); !s.ok()) {
          c.views = view_texts;
          return Fail(c, s);
        }
      }
      c.views = view_texts;
      c.entities = spine.rows.size();
      if (format != "jsonl" && format != "csv")
        return Fail(c, 400, "'format' must be \"jsonl\" or \"csv\", got '" + format + "'");
      if (spine.rows.size() > api.limits_.max_spine_rows)
        return Fail(c, 413,
                    "spine of " + std::to_string(spine.rows.size()) +
                        " rows is over the limit of " + std::to_string(api.limits_.max_spine_rows));
      std::vector<ViewSelector> selectors;
      std::vector<std::string> names;
      for (const auto& t : view_texts) {
        auto sel = ParseViewSelector(t);
        if (!sel.ok()) return Fail(c, 400, sel.status().message());
        names.push_back(sel->name);
        selectors.push_back(std::move(sel.value()));
      }
      if (!CheckViews(c, names)) return;
      if (api.offline_ == nullptr)
        return Fail(c, 503, "no offline store: point-in-time retrieval is unavailable");
      auto ts = PointInTimeJoin(*api.offline_, api.registry_, spine, selectors);
      if (!ts.ok()) return Fail(c, ts.status());
      std::string out;
      if (format == "csv") {
        AppendTrainingSetCsv(spine, *ts, &out);
        res.set_content(std::move(out), "text/csv");
      } else {
        AppendTrainingSetJsonl(spine, *ts, &out);
        res.set_content(std::move(out), "application/x-ndjson");
      }
    });
  }

  // {"rows":[{"entity":..,"timestamp":RFC 3339 or integer ns,"label":..}, ...]}
  Status SpineFromJson(const json& body, Spine* spine) {
    auto rows = body.find("rows");
    if (rows == body.end() || !rows->is_array())
      return Status::InvalidArgument("missing field 'rows' (an array of objects)");
    if (rows->size() > api.limits_.max_spine_rows)
      return Status::OutOfRange("spine of " + std::to_string(rows->size()) +
                                " rows is over the limit of " +
                                std::to_string(api.limits_.max_spine_rows));
    spine->rows.reserve(rows->size());
    for (size_t i = 0; i < rows->size(); ++i) {
      const json& r = (*rows)[i];
      const std::string where = "rows[" + std::to_string(i) + "]";
      if (!r.is_object()) return Status::InvalidArgument(where + " is not an object");
      SpineRow row;
      auto e = r.find("entity");
      if (e == r.end() || !e->is_string())
        return Status::InvalidArgument(where + ".entity: missing or not a string");
      row.entity = e->get<std::string>();
      auto t = r.find("timestamp");
      if (t == r.end()) return Status::InvalidArgument(where + ".timestamp: missing");
      if (t->is_number_integer()) {
        row.ts_ns = t->get<int64_t>();
      } else if (t->is_string()) {
        auto ns = ParseRfc3339(t->get<std::string>());
        if (!ns) return Status::InvalidArgument(where + ".timestamp: not RFC 3339");
        row.ts_ns = *ns;
      } else {
        return Status::InvalidArgument(where + ".timestamp: expected RFC 3339 text or integer ns");
      }
      if (auto l = r.find("label"); l != r.end()) {
        spine->has_label = true;
        if (l->is_string())
          row.label = l->get<std::string>();
        else if (!l->is_null())
          row.label = l->dump();
      }
      spine->rows.push_back(std::move(row));
    }
    return Status::Ok();
  }

  void Decisions(const httplib::Request& req, httplib::Response& res) {
    Call c{req, res, "decisions"};
    Serve(c, [&] {
      if (api.decisions_ == nullptr) return Fail(c, 503, "detection is not running here");
      int64_t since = INT64_MIN;
      if (req.has_param("since")) {
        const std::string text = req.get_param_value("since");
        auto t = ParseRfc3339(text);
        if (!t) return Fail(c, 400, "since: bad RFC 3339 time '" + text + "'");
        since = *t;
      }
      size_t limit = 1000;
      if (req.has_param("limit")) {
        const std::string text = req.get_param_value("limit");
        if (text.empty() || text.size() > 6 ||
            text.find_first_not_of("0123456789") != std::string::npos)
          return Fail(c, 400, "limit: expected 1..100000");
        limit = std::clamp<size_t>(std::stoul(text), 1, 100'000);
      }
      const std::string klass = req.has_param("class") ? req.get_param_value("class") : "";
      std::string out = "{\"decisions\":[";
      const auto recent = api.decisions_->Recent(since, klass, limit);
      for (size_t i = 0; i < recent.size(); ++i) {
        if (i) out += ",\n";
        out += recent[i];
      }
      out += "]}\n";
      res.set_content(std::move(out), std::string(kJson));
    });
  }

  // ?limit=N, 1..max; `fallback` when absent. False (and a 400) when malformed.
  bool LimitParam(Call& c, size_t fallback, size_t max, size_t* out) {
    *out = fallback;
    if (!c.req.has_param("limit")) return true;
    const std::string text = c.req.get_param_value("limit");
    if (text.empty() || text.size() > 6 ||
        text.find_first_not_of("0123456789") != std::string::npos) {
      Fail(c, 400, "limit: expected 1.." + std::to_string(max));
      return false;
    }
    *out = std::clamp<size_t>(std::stoul(text), 1, max);
    return true;
  }

  void Alerts(const httplib::Request& req, httplib::Response& res) {
    Call c{req, res, "alerts"};
    Serve(c, [&] {
      if (api.ops_ == nullptr) return Fail(c, 503, "alerting is not running here");
      const std::string state = req.has_param("state") ? req.get_param_value("state") : "open";
      if (state != "open" && state != "all") return Fail(c, 400, "state: expected open or all");
      size_t limit = 0;
      if (!LimitParam(c, 500, 10'000, &limit)) return;
      res.set_content(api.ops_->AlertsJson(state == "open", limit), std::string(kJson));
    });
  }

  void Actions(const httplib::Request& req, httplib::Response& res) {
    Call c{req, res, "actions"};
    Serve(c, [&] {
      if (api.ops_ == nullptr) return Fail(c, 503, "remediation is not running here");
      size_t limit = 0;
      if (!LimitParam(c, 100, 256, &limit)) return;
      res.set_content(api.ops_->ActionsJson(limit), std::string(kJson));
    });
  }

  void Stats(const httplib::Request& req, httplib::Response& res) {
    Call c{req, res, "stats"};
    Serve(c, [&] {
      if (api.ops_ == nullptr) return Fail(c, 503, "statistics are not kept here");
      res.set_content(api.ops_->StatsJson(), std::string(kJson));
    });
  }

  // Prometheus scrapes without a token, like /v1/health: operational counters and host
  // health gauges, no DNS feature values. Keep the listen address private accordingly.
  void Metrics(const httplib::Request&, httplib::Response& res) {
    api.counters_.requests.fetch_add(1, std::memory_order_relaxed);
    if (api.ops_ == nullptr) {
      SetError(res, 503, "metrics are not kept here");
      return;
    }
    res.set_content(api.ops_->MetricsText(), "text/plain; version=0.0.4; charset=utf-8");
  }

  void Feedback(const httplib::Request& req, httplib::Response& res) {
    Call c{req, res, "feedback"};
    Serve(c, [&] {
      if (!Require(c, Role::kTrainer, "give feedback")) return;
      if (api.ops_ == nullptr) return Fail(c, 503, "feedback is not kept here");
      std::string out;
      const Status s = api.ops_->Feedback(req.matches[1].str(), req.body, c.who->name, &out);
      if (!s.ok()) return Fail(c, s);
      res.set_content(std::move(out), std::string(kJson));
    });
  }

  void Changes(const httplib::Request& req, httplib::Response& res) {
    Call c{req, res, "changes"};
    Serve(c, [&] {
      if (!Require(c, Role::kAdmin, "post change events")) return;
      if (api.changes_ == nullptr) return Fail(c, 503, "detection is not running here");
      json body;
      std::string error;
      if (!ParseJsonBody(req.body, &body, &error)) return Fail(c, 400, error);
      std::vector<std::string> lines;
      if (auto events = body.find("events"); events != body.end() && events->is_array()) {
        for (const auto& e : *events) lines.push_back(e.dump());
      } else {
        lines.push_back(body.dump());
      }
      if (lines.size() > 10'000) return Fail(c, 413, "at most 10000 change events per request");
      for (size_t i = 0; i < lines.size(); ++i) {
        if (Status s = api.changes_->AddJsonLine(lines[i]); !s.ok())
          return Fail(c, 400, "change event " + std::to_string(i) + ": " + s.message());
      }
      res.set_content("{\"accepted\":" + std::to_string(lines.size()) + "}\n", std::string(kJson));
    });
  }

  void ListViews(const httplib::Request& req, httplib::Response& res) {
    Call c{req, res, "list"};
    Serve(c, [&] {
      json views = json::array();
      for (const auto& v : api.registry_.List())
        views.push_back(ViewSummary(v, Authenticator::CanRead(*c.who, v)));
      res.set_content(json{{"views", std::move(views)}}.dump() + "\n", std::string(kJson));
    });
  }

  void DescribeView(const httplib::Request& req, httplib::Response& res) {
    Call c{req, res, "describe"};
    const std::string name = req.matches[1];
    c.views = {name};
    Serve(c, [&] {
      const auto versions = api.registry_.Versions(name);
      if (versions.empty()) return Fail(c, 404, "unknown view '" + name + "'");
      json all = json::array();
      for (const auto& v : versions) all.push_back(json::parse(RegisteredViewToJson(v)));
      json out = ViewSummary(versions.back(), Authenticator::CanRead(*c.who, versions.back()));
      out["latest"] = all.back();
      out["versions"] = std::move(all);
      res.set_content(out.dump() + "\n", std::string(kJson));
    });
  }

  void Diff(const httplib::Request& req, httplib::Response& res) {
    Call c{req, res, "diff"};
    const std::string name = req.matches[1];
    c.views = {name};
    Serve(c, [&] {
      const auto versions = api.registry_.Versions(name);
      if (versions.empty()) return Fail(c, 404, "unknown view '" + name + "'");
      std::string from = req.get_param_value("from");
      std::string to = req.get_param_value("to");
      if (to.empty()) to = versions.back().version;
      if (from.empty()) {
        if (versions.size() < 2)
          return Fail(c, 400, "view '" + name + "' has one version; nothing to diff");
        from = versions[versions.size() - 2].version;
      }
      auto a = api.registry_.Get(name, from);
      if (!a.ok()) return Fail(c, a.status());
      auto b = api.registry_.Get(name, to);
      if (!b.ok()) return Fail(c, b.status());
      res.set_content(DiffViews(*a, *b), "text/plain; charset=utf-8");
    });
  }

  void Register(const httplib::Request& req, httplib::Response& res) {
    Call c{req, res, "register"};
    Serve(c, [&] {
      if (!Require(c, Role::kAdmin, "register views")) return;
      auto view = RegisteredViewFromJson(req.body);
      if (!view.ok()) return Fail(c, 400, view.status().message());
      c.views = {view->name};
      if (view->registered_at_ns == 0) view->registered_at_ns = api.clock_.NowNs();
      auto added = api.registry_.Register(*view);
      if (!added.ok()) return Fail(c, added.status());
      api.service_.InvalidateView(view->name);
      json out = {{"name", view->name}, {"version", view->version}, {"new", *added}};
      res.set_content(out.dump() + "\n", std::string(kJson));
    });
  }

  // Authenticates, runs `body` unless that failed, then audits.
  template <typename Fn>
  void Serve(Call& c, Fn&& body) {
    api.counters_.requests.fetch_add(1, std::memory_order_relaxed);
    c.res.status = 200;
    if (Authenticate(c)) body();
    Finish(c);
  }
};

HttpApi::HttpApi(ApiConfig config, FeatureService& service, Registry& registry,
                 OfflineStore* offline, Authenticator auth, AuditLog& audit, const Clock& clock,
                 HttpApiLimits limits)
    : config_(std::move(config)),
      service_(service),
      registry_(registry),
      offline_(offline),
      auth_(std::move(auth)),
      audit_(audit),
      clock_(clock),
      limits_(limits) {}

HttpApi::~HttpApi() {
  Stop();
}

bool HttpApi::tls() const {
  return impl_ && impl_->tls;
}

Status HttpApi::Start() {
  if (impl_) return Status::InvalidArgument("api: already started");
  std::string host;
  int port = 0;
  if (Status s = ParseListenAddress(config_.listen, &host, &port); !s.ok()) return s;
  if (config_.tls_cert.empty() != config_.tls_key.empty())
    return Status::InvalidArgument("api: tls_cert and tls_key must be set together");

  auto impl = std::make_unique<Impl>(*this);
  if (!config_.tls_cert.empty()) {
    impl->server =
        std::make_unique<httplib::SSLServer>(config_.tls_cert.c_str(), config_.tls_key.c_str());
    impl->tls = true;
    if (!impl->server->is_valid())
      return Status::InvalidArgument("api: cannot load TLS certificate " + config_.tls_cert +
                                     " or key " + config_.tls_key);
  } else {
    impl->server = std::make_unique<httplib::Server>();
  }
  httplib::Server& svr = *impl->server;
  Impl* h = impl.get();
  const size_t threads = config_.threads > 0 ? static_cast<size_t>(config_.threads) : 1;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_payload_max_length(limits_.max_body_bytes);
  svr.set_keep_alive_max_count(limits_.keep_alive_max_requests);
  svr.set_keep_alive_timeout(limits_.keep_alive_timeout_s);
  svr.set_tcp_nodelay(true);

  svr.Get("/v1/health", [h](const auto& req, auto& res) { h->Health(req, res); });
  svr.Get("/v1/views", [h](const auto& req, auto& res) { h->ListViews(req, res); });
  svr.Get(R"(/v1/views/([^/]+))", [h](const auto& req, auto& res) { h->DescribeView(req, res); });
  svr.Get(R"(/v1/views/([^/]+)/diff)", [h](const auto& req, auto& res) { h->Diff(req, res); });
  svr.Post("/v1/views", [h](const auto& req, auto& res) { h->Register(req, res); });
  svr.Post("/v1/features/get", [h](const auto& req, auto& res) { h->GetOne(req, res); });
  svr.Post("/v1/features/batch", [h](const auto& req, auto& res) { h->GetBatch(req, res); });
  svr.Post("/v1/features/historical", [h](const auto& req, auto& res) { h->Historical(req, res); });
  svr.Get("/v1/decisions", [h](const auto& req, auto& res) { h->Decisions(req, res); });
  svr.Post("/v1/changes", [h](const auto& req, auto& res) { h->Changes(req, res); });
  svr.Get("/v1/alerts", [h](const auto& req, auto& res) { h->Alerts(req, res); });
  // The dashboard: static files, no token (its API calls carry one). A missing directory
  // (npm ci not run) leaves it off, with a warning, and the API serves on.
  const std::string web_dir =
      config_.dashboard_dir.empty() ? DNSIGHT_DEFAULT_WEB_DIR : config_.dashboard_dir;
  if (Status s = MountDashboard(svr, web_dir); !s.ok())
    std::fprintf(stderr, "dnsight: api: dashboard off: %s\n", s.message().c_str());
  svr.Get("/v1/actions", [h](const auto& req, auto& res) { h->Actions(req, res); });
  svr.Get("/v1/stats", [h](const auto& req, auto& res) { h->Stats(req, res); });
  svr.Get("/metrics", [h](const auto& req, auto& res) { h->Metrics(req, res); });
  svr.Post(R"(/v1/decisions/([A-Za-z0-9_.-]{1,128})/feedback)",
           [h](const auto& req, auto& res) { h->Feedback(req, res); });

  // Responses httplib makes itself (no route, body too large, bad request line) and any
  // handler status without a body get a JSON error too.
  const size_t max_body = limits_.max_body_bytes;
  svr.set_error_handler(httplib::Server::HandlerWithResponse(
      [max_body](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string message;
        switch (res.status) {
          case 404:
            message = "no such endpoint: " + req.method + " " + req.path;
            break;
          case 405:
            message = "method " + req.method + " not allowed on " + req.path;
            break;
          case 413:
            message = "request body over the limit of " + std::to_string(max_body) + " bytes";
            break;
          case 400:
            message = "malformed HTTP request";
            break;
          default:
            message = "HTTP status " + std::to_string(res.status);
        }
        SetError(res, res.status, message);
        return httplib::Server::HandlerResponse::Handled;
      }));
  svr.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        SetError(res, 500, "internal error: " + what);
      });

  const int bound =
      port == 0 ? svr.bind_to_any_port(host) : (svr.bind_to_port(host, port) ? port : -1);
  if (bound < 0) return Status::IoError("api: cannot listen on " + config_.listen);
  port_ = bound;
  if (!auth_.enabled())
    std::fprintf(stderr,
                 "dnsight api: no tokens configured: authentication is off and every caller "
                 "is admin (use only on loopback)\n");
  impl_ = std::move(impl);
  httplib::Server* server = impl_->server.get();
  std::atomic<bool>* exited = &impl_->loop_exited;
  thread_ = std::thread([server, exited] {
    server->listen_after_bind();
    exited->store(true);
  });
  // stop() only takes effect once the accept loop runs; wait for it so Stop never misses.
  while (!server->is_running() && !exited->load())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return Status::Ok();
}

void HttpApi::Stop() {
  if (!impl_) return;
  impl_->server->stop();
  if (thread_.joinable()) thread_.join();
  impl_.reset();
}

}  // namespace dnsight
