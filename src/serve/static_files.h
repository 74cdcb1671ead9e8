// MountDashboard: serves the web dashboard (the repository's web/ directory) from a
// cpp-httplib server, beside the JSON API.
//
//   GET /                              302 to /ui/
//   GET /ui                            302 to /ui/
//   GET /ui/, /ui/index.html           web/index.html
//   GET /ui/app.js, /ui/style.css      web/app.js, web/style.css
//   GET /ui/vendor/uPlot.iife.min.js   web/node_modules/uplot/dist/uPlot.iife.min.js
//   GET /ui/vendor/uPlot.min.css       web/node_modules/uplot/dist/uPlot.min.css
//
// Only the paths of this fixed table are served: no part of a request's path reaches the
// file system, so `..`, encoded or not, and directory listings all fall through to the
// server's 404. Every file answers with its Content-Type, `Cache-Control: no-cache`,
// `X-Content-Type-Options: nosniff`, and a Content-Security-Policy that lets the page load
// only from this origin. The dashboard itself is public: it holds no data, and the API
// calls it makes carry the caller's token (see web/README.md).
//
// Files are read on every request (they are a few kB; uPlot is ~50 kB), so an edited
// dashboard shows on reload without a restart. A file removed after mounting answers 503
// with a plain-text message naming it.
//
// Errors: returns NotFound, and registers nothing, when web_dir is not a directory or one
// of the files is missing; when the uPlot files are missing the message says to run
// `npm ci` in web/.
//
// Thread-safety: call before the server listens (httplib routes are not guarded); the
// handlers it installs only read files and may run on any thread of the server's pool.
// Ownership: the handlers hold their own copy of the paths; nothing is borrowed.
#pragma once

#include <string>

#include "dnsight/status.h"

namespace httplib {
class Server;
}

namespace dnsight {

// REQUIRES: server is not listening yet. Works for httplib::SSLServer too.
Status MountDashboard(httplib::Server& server, const std::string& web_dir);

}  // namespace dnsight
