// The JSON shapes of results that the CLI and the HTTP service both print: one label's score and
// the {"code", "message"} error object. Header-only, over the public API and nlohmann::json;
// cli/ and server/ include it (docs/ARCHITECTURE.md, the layers block), so the two stay
// byte-identical. JsonT: nlohmann::json (keys sorted) or nlohmann::ordered_json (keys in the
// order written), as the caller's enclosing object is.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "zeroshot/error.h"
#include "zeroshot/model.h"

namespace zeroshot::common {

// One label's result: {"label", "score"}, with raw also "logit" and "cosine".
template <typename JsonT = nlohmann::json>
JsonT score_json(const LabelScore& s, bool raw) {
  JsonT out = {{"label", s.label}, {"score", s.score}};
  if (raw) {
    out["logit"] = s.logit;
    out["cosine"] = s.cosine;
  }
  return out;
}

// {"code": ..., "message": ...}: the value of an "error" field (a failed image, item or request).
template <typename JsonT = nlohmann::json>
JsonT error_object(const std::string& code, const std::string& message) {
  return {{"code", code}, {"message", message}};
}
template <typename JsonT = nlohmann::json>
JsonT error_object(const Error& error) {
  return error_object<JsonT>(error_code_name(error.code()), error.what());
}

// One line of a batch run over images, {"image": PATH, "error": {...}}; the "image" key first
// when JsonT keeps the order (nlohmann::json sorts: "error" first).
template <typename JsonT = nlohmann::json>
JsonT image_error_line(const std::string& path, const Error& error) {
  return {{"image", path}, {"error", error_object<JsonT>(error)}};
}

}  // namespace zeroshot::common
