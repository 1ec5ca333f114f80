#include "inputs.h"

#include <charconv>
#include <climits>

#include "base64.h"
#include "http_error.h"

namespace zeroshot::server {
namespace {

using nlohmann::json;

[[noreturn]] void bad_request(const std::string& message) {
  throw HttpError(400, "bad_request", message);
}

bool has_prefix(const std::string& value, const char* prefix) {
  return value.rfind(prefix, 0) == 0;
}

std::string content_type(const httplib::Request& request) {
  std::string type = request.get_header_value("Content-Type");
  if (const auto semicolon = type.find(';'); semicolon != std::string::npos) type.resize(semicolon);
  for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type;
}

json parse_json(const RequestBody& request) {
  json body = json::parse(request.bytes, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) bad_request("the body is not valid JSON");
  if (!body.is_object()) bad_request("the JSON body must be an object");
  return body;
}

// A base64 or data-URL image of a JSON body, or its per-item error.
ImageInput image_from_text(const json& value, std::size_t index) {
  if (!value.is_string()) {
    return {{},
            error_object("invalid_argument", "image " + std::to_string(index) +
                                                 " must be a base64 string or a data URL")};
  }
  std::string why;
  auto bytes = decode_image_text(value.get_ref<const std::string&>(), why);
  if (!bytes)
    return {{}, error_object("invalid_argument", "image " + std::to_string(index) + ": " + why)};
  return {std::move(*bytes), std::nullopt};
}

int parse_top_k(const std::string& text) {
  int k = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), k);
  if (ec != std::errc() || end != text.data() + text.size())
    bad_request("top_k must be a whole number, got '" + text + "'");
  return k;
}

bool parse_flag(const std::string& text, const char* name) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0" || text.empty()) return false;
  bad_request(std::string(name) + " must be true or false, got '" + text + "'");
}

void read_json_options(const json& body, ClassifyInput& input) {
  if (body.contains("model")) {
    if (!body["model"].is_string()) bad_request("\"model\" must be a string");
    input.model = body["model"];
  }
  if (body.contains("labels")) {
    if (!body["labels"].is_array()) bad_request("\"labels\" must be an array of strings");
    for (const auto& label : body["labels"]) {
      if (!label.is_string()) bad_request("\"labels\" must be an array of strings");
      input.labels.push_back(label);
    }
  }
  if (body.contains("template")) {
    const auto& t = body["template"];
    if (t.is_null())
      input.options.prompt_template.reset();  // labels verbatim
    else if (t.is_string())
      input.options.prompt_template = t.get<std::string>();
    else
      bad_request("\"template\" must be a string or null");
  }
  if (body.contains("top_k")) {
    // A whole number that fits an int: a larger one would wrap (2^32 to 0, "every label").
    const json& k = body["top_k"];
    bool fits = false;
    if (k.is_number_unsigned()) {
      fits = k.get<std::uint64_t>() <= INT_MAX;
    } else if (k.is_number_integer()) {
      const auto v = k.get<std::int64_t>();
      fits = v >= INT_MIN && v <= INT_MAX;
    }
    if (!fits) bad_request("\"top_k\" must be a whole number, got " + k.dump());
    input.options.top_k = k.get<int>();
  }
  if (body.contains("raw")) {
    if (!body["raw"].is_boolean()) bad_request("\"raw\" must be true or false");
    input.raw = body["raw"];
  }
}

// Multipart fields and query parameters share these names.
void read_form_option(const std::string& name, const std::string& value, ClassifyInput& input) {
  if (name == "label")
    input.labels.push_back(value);
  else if (name == "template")
    input.options.prompt_template = value;
  else if (name == "top_k")
    input.options.top_k = parse_top_k(value);
  else if (name == "raw")
    input.raw = parse_flag(value, "raw");
  else if (name == "model")
    input.model = value;
}

ClassifyInput read_images_and_options(const httplib::Request& request, const RequestBody& raw) {
  ClassifyInput input;
  const std::string type = content_type(request);
  if (type == "application/json") {
    const json body = parse_json(raw);
    read_json_options(body, input);
    if (!body.contains("images") || !body["images"].is_array())
      bad_request("\"images\" must be an array of base64 strings or data URLs");
    std::size_t index = 0;
    for (const auto& image : body["images"])
      input.images.push_back(image_from_text(image, index++));
  } else if (type == "multipart/form-data") {
    for (const auto& [name, content] : raw.parts) {
      if (name == "image")
        input.images.push_back({content, std::nullopt});
      else
        read_form_option(name, content, input);
    }
  } else if (has_prefix(type, "image/")) {
    for (const auto& [name, value] : request.params) read_form_option(name, value, input);
    input.images.push_back({raw.bytes, std::nullopt});
  } else {
    throw HttpError(415, "unsupported_media_type",
                    "Content-Type must be application/json, multipart/form-data or image/*, got '" +
                        type + "'");
  }
  return input;
}

void check_count(std::size_t count, std::size_t limit, const char* what) {
  if (count > limit) {
    throw HttpError(422, "limit_exceeded",
                    std::to_string(count) + " " + what + " in one request; the limit is " +
                        std::to_string(limit));
  }
}

}  // namespace

RequestBody read_body(const httplib::Request& request, const httplib::ContentReader& reader,
                      std::size_t max_bytes) {
  RequestBody body;
  std::size_t total = 0;
  bool too_large = false;
  const auto take = [&](std::string& into, const char* data, std::size_t size) {
    total += size;
    if (total > max_bytes) {
      too_large = true;
      return false;
    }
    into.append(data, size);
    return true;
  };
  bool complete = false;
  if (request.is_multipart_form_data()) {
    complete = reader(
        [&](const httplib::MultipartFormData& part) {
          body.parts.emplace_back(part.name, std::string());
          return true;
        },
        [&](const char* data, std::size_t size) {
          return take(body.parts.back().second, data, size);
        });
  } else {
    complete =
        reader([&](const char* data, std::size_t size) { return take(body.bytes, data, size); });
  }
  // cpp-httplib refuses a Content-Length over its limit (the same) before reading any of it.
  const std::string length = request.get_header_value("Content-Length");
  std::uint64_t declared = 0;
  const auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), declared);
  const bool declared_too_large = !length.empty() && (ec != std::errc() || declared > max_bytes);
  if (too_large || declared_too_large) {
    throw HttpError(
        413, "payload_too_large",
        "the body is larger than the server's limit of " + std::to_string(max_bytes) + " bytes");
  }
  if (!complete) bad_request("the body could not be read (a broken transfer or chunk encoding)");
  return body;
}

ClassifyInput read_classify_input(const httplib::Request& request, const RequestBody& body,
                                  const ServeOptions& limits) {
  ClassifyInput input = read_images_and_options(request, body);
  if (input.images.empty()) bad_request("no image given");
  if (input.labels.empty()) bad_request("no labels given");
  check_count(input.images.size(), limits.max_images, "images");
  check_count(input.labels.size(), limits.max_labels, "labels");
  return input;
}

ClassifyInput read_similarity_input(const httplib::Request& request, const RequestBody& body) {
  ClassifyInput input = read_images_and_options(request, body);
  if (input.images.size() != 2)
    bad_request("similarity takes exactly two images, got " + std::to_string(input.images.size()));
  return input;
}

EmbeddingsInput read_embeddings_input(const httplib::Request& request, const RequestBody& raw,
                                      const ServeOptions& limits) {
  if (content_type(request) != "application/json")
    throw HttpError(415, "unsupported_media_type", "Content-Type must be application/json");
  const json body = parse_json(raw);
  EmbeddingsInput input;
  if (body.contains("model")) {
    if (!body["model"].is_string()) bad_request("\"model\" must be a string");
    input.model = body["model"];
  }
  if (!body.contains("input")) bad_request("\"input\" is required");
  // OpenAI's shape: one string, or an array of strings; images as {"image": BASE64}.
  json items = body["input"].is_array() ? body["input"] : json::array({body["input"]});
  if (items.empty()) bad_request("\"input\" is empty");
  check_count(items.size(), limits.max_inputs, "inputs");
  std::size_t index = 0;
  for (const auto& item : items) {
    EmbeddingInput one;
    if (item.is_string()) {
      one.text = item.get<std::string>();
    } else if (item.is_object() && item.contains("image")) {
      one.image = image_from_text(item["image"], index);
    } else {
      bad_request("input " + std::to_string(index) +
                  " must be a string or an object {\"image\": BASE64}");
    }
    input.inputs.push_back(std::move(one));
    ++index;
  }
  return input;
}

SearchInput read_search_input(const httplib::Request& request, const RequestBody& raw) {
  if (content_type(request) != "application/json")
    throw HttpError(415, "unsupported_media_type", "Content-Type must be application/json");
  const json body = parse_json(raw);
  SearchInput input;
  int queries = 0;
  if (body.contains("text")) {
    if (!body["text"].is_string()) bad_request("\"text\" must be a string");
    input.text = body["text"].get<std::string>();
    ++queries;
  }
  if (body.contains("image")) {
    input.image = image_from_text(body["image"], 0);
    ++queries;
  }
  if (body.contains("embedding")) {
    const json& e = body["embedding"];
    if (!e.is_array() || e.empty()) bad_request("\"embedding\" must be an array of numbers");
    std::vector<float> v;
    v.reserve(e.size());
    for (const auto& x : e) {
      if (!x.is_number()) bad_request("\"embedding\" must be an array of numbers");
      v.push_back(x.get<float>());
    }
    input.embedding = std::move(v);
    ++queries;
  }
  if (queries != 1) bad_request("give exactly one of \"text\", \"image\" or \"embedding\"");
  if (body.contains("top_k")) {
    const json& k = body["top_k"];
    if (!k.is_number_unsigned() || k.get<std::uint64_t>() > 1'000'000)
      bad_request("\"top_k\" must be a whole number from 0 (all) to 1000000, got " + k.dump());
    input.top_k = k.get<std::size_t>();
  }
  if (body.contains("exact")) {
    if (!body["exact"].is_boolean()) bad_request("\"exact\" must be true or false");
    input.exact = body["exact"];
  }
  if (body.contains("min_score")) {
    const json& m = body["min_score"];
    if (!m.is_number() || !(m.get<double>() >= -1.0 && m.get<double>() <= 1.0))
      bad_request("\"min_score\" must be a number from -1 to 1, got " + m.dump());
    input.min_score = m.get<float>();
  }
  return input;
}

}  // namespace zeroshot::server
