#include "cli/feedback_command.h"

#include <httplib.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "act/feedback.h"
#include "engine/row_writer.h"

namespace dnsight {
namespace {

struct GiveOptions {
  std::string api = "http://127.0.0.1:8080";
  std::string token;
  std::string decision_id;
  std::string verdict;
  std::string klass, note, suppress_for;
};

int Give(const GiveOptions& o) {
  std::string body = "{\"verdict\":";
  AppendJsonString(o.verdict, &body);
  if (!o.klass.empty()) {
    body += ",\"class\":";
    AppendJsonString(o.klass, &body);
  }
  if (!o.note.empty()) {
    body += ",\"note\":";
    AppendJsonString(o.note, &body);
  }
  if (!o.suppress_for.empty()) {
    body += ",\"suppress_for\":";
    AppendJsonString(o.suppress_for, &body);
  }
  body += "}";
  // Decision ids are made of [A-Za-z0-9_.-] (the API's route accepts nothing else).
  if (o.decision_id.empty() || o.decision_id.size() > 128 ||
      o.decision_id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789_.-") != std::string::npos) {
    std::fprintf(stderr, "dnsight: feedback: '%s' is not a decision id\n", o.decision_id.c_str());
    return 1;
  }
  httplib::Client client(o.api);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  httplib::Headers headers;
  std::string token = o.token;
  if (token.empty())
    if (const char* env = std::getenv("DNSIGHT_TOKEN")) token = env;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  const auto res = client.Post("/v1/decisions/" + o.decision_id + "/feedback", headers, body,
                               "application/json");
  if (!res) {
    std::fprintf(stderr, "dnsight: feedback: cannot reach %s\n", o.api.c_str());
    return 1;
  }
  std::fwrite(res->body.data(), 1, res->body.size(), res->status == 200 ? stdout : stderr);
  return res->status == 200 ? 0 : 1;
}

int Export(const std::string& feedback_path, const std::string& out_path) {
  std::ifstream probe(feedback_path);
  if (!probe) {
    std::fprintf(stderr, "dnsight: cannot read %s\n", feedback_path.c_str());
    return 1;
  }
  auto store = FeedbackStore::Open(feedback_path, /*read_only=*/true);
  if (!store.ok()) {
    std::fprintf(stderr, "dnsight: %s\n", store.status().ToString().c_str());
    return 1;
  }
  std::ofstream out(out_path);
  if (!out) {
    std::fprintf(stderr, "dnsight: cannot write %s\n", out_path.c_str());
    return 1;
  }
  const size_t n = ExportFeedbackLabels((*store)->All(), 300'000'000'000, out);
  const FeedbackCounts c = (*store)->counts();
  std::printf(
      "%s: %zu labelled incident(s) from %llu accepted, %llu suppressed, %llu reclassified"
      " (%llu malformed line(s) skipped)\n",
      out_path.c_str(), n, static_cast<unsigned long long>(c.accepted),
      static_cast<unsigned long long>(c.suppressed),
      static_cast<unsigned long long>(c.reclassified),
      static_cast<unsigned long long>(c.malformed_lines));
  return out.good() ? 0 : 1;
}

}  // namespace

void AddFeedbackCommands(CLI::App& app) {
  auto* fb = app.add_subcommand("feedback", "operator verdicts on decisions: give, export");
  fb->require_subcommand(1);
  auto give = std::make_shared<GiveOptions>();
  auto* g = fb->add_subcommand("give", "send accept | suppress | reclassify for a decision");
  g->add_option("--api", give->api, "base URL of a running dnsight API");
  g->add_option("--token", give->token, "API token (default: $DNSIGHT_TOKEN)");
  g->add_option("decision", give->decision_id, "decision id")->required();
  g->add_option("verdict", give->verdict, "accept | suppress | reclassify")
      ->required()
      ->check(CLI::IsMember({"accept", "suppress", "reclassify"}));
  g->add_option("--class", give->klass, "reclassify: the right class");
  g->add_option("--note", give->note, "free text kept with the verdict");
  g->add_option("--for", give->suppress_for, "suppress: how long to silence the scope (e.g. 2h)");
  g->callback([give] { throw CLI::RuntimeError(Give(*give)); });

  auto paths = std::make_shared<std::pair<std::string, std::string>>();
  auto* e = fb->add_subcommand("export", "judged decisions as training labels (incidents.jsonl)");
  e->add_option("--feedback", paths->first, "feedback JSON lines (feedback.path)")->required();
  e->add_option("--out", paths->second, "labels to write")->required();
  e->callback([paths] { throw CLI::RuntimeError(Export(paths->first, paths->second)); });
}

}  // namespace dnsight
