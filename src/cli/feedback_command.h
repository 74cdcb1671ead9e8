// Operator feedback from the command line:
//
//   dnsight feedback give --api http://127.0.0.1:8080 [--token T] <decision-id>
//                         accept|suppress|reclassify [--class C] [--note N] [--for 2h]
//       Sends a verdict to a running dnsight (POST /v1/decisions/{id}/feedback). The token
//       may also come from DNSIGHT_TOKEN. Exit 0 on success, 1 when the API refused it.
//   dnsight feedback export --feedback feedback.jsonl --out labels.jsonl
//       Writes the judged decisions as an incident timeline that `dnsight train --truth`
//       reads (act/feedback.h). Exit 0, or 1 when a file cannot be read or written.
//
// AddFeedbackCommands registers both; each runs from its CLI11 callback and ends the parse
// with its exit code (CLI::RuntimeError).
#pragma once

namespace CLI {
class App;
}

namespace dnsight {

void AddFeedbackCommands(CLI::App& app);

}  // namespace dnsight
