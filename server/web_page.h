// The web page served at / (server/web/index.html, compiled in: no files, no CDN, works offline).
#pragma once

#include <string_view>

namespace zeroshot::server {

extern const std::string_view kWebPage;

}  // namespace zeroshot::server
