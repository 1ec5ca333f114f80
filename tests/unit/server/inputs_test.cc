// server/inputs: every transport of a request (JSON with base64 or data URLs, multipart parts, a
// raw image body with the query), every refusal with its status, code and message, the limits,
// and reading a body under the size limit (plain, chunked and multipart).
#include "inputs.h"

#include <gtest/gtest.h>

#include <functional>

#include "http_error.h"

namespace zeroshot::server {
namespace {

using nlohmann::json;

httplib::Request request(const std::string& content_type,
                         std::vector<std::pair<std::string, std::string>> params = {}) {
  httplib::Request r;
  if (!content_type.empty()) r.headers.emplace("Content-Type", content_type);
  for (auto& [name, value] : params) r.params.emplace(name, value);
  return r;
}

RequestBody bytes(std::string text) { return {std::move(text), {}}; }
RequestBody json_body(const json& j) { return bytes(j.dump()); }
RequestBody parts(std::vector<std::pair<std::string, std::string>> p) { return {"", std::move(p)}; }

ServeOptions limits(std::size_t images = 4, std::size_t labels = 3, std::size_t inputs = 2) {
  ServeOptions o;
  o.max_images = images;
  o.max_labels = labels;
  o.max_inputs = inputs;
  return o;
}

// Runs `call`, which must throw HttpError with `status` and `code` and a message holding
// `fragment`.
void expect_refused(const std::function<void()>& call, int status, const std::string& code,
                    const std::string& fragment) {
  try {
    call();
  } catch (const HttpError& e) {
    EXPECT_EQ(e.status(), status) << e.what();
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
        << "'" << fragment << "' missing from: " << e.what();
    return;
  }
  ADD_FAILURE() << "expected HttpError " << status << " " << code;
}

ClassifyInput classify(const httplib::Request& r, const RequestBody& body,
                       const ServeOptions& l = limits()) {
  return read_classify_input(r, body, l);
}

// "foo" and "hi!" as base64 (RFC 4648 test vector, and one more by hand).
constexpr const char* kFoo = "Zm9v";
constexpr const char* kHi = "aGkh";

TEST(Inputs, JsonWithEveryOption) {
  const auto in =
      classify(request("application/json"),
               json_body({{"images", {kFoo, std::string("data:image/png;base64,") + kHi}},
                          {"labels", {"a dog", "a cat"}},
                          {"template", "a {label}"},
                          {"top_k", 1},
                          {"raw", true},
                          {"model", "m/x"}}));
  ASSERT_EQ(in.images.size(), 2u);
  EXPECT_EQ(in.images[0].bytes, "foo");
  EXPECT_FALSE(in.images[0].error);
  EXPECT_EQ(in.images[1].bytes, "hi!");
  EXPECT_EQ(in.labels, (std::vector<std::string>{"a dog", "a cat"}));
  EXPECT_EQ(in.options.prompt_template, "a {label}");
  EXPECT_EQ(in.options.top_k, 1);
  EXPECT_TRUE(in.raw);
  EXPECT_EQ(in.model, "m/x");
}

TEST(Inputs, JsonDefaultsNullTemplateAndContentTypeParameters) {
  // Content-Type is matched without its parameters and case.
  const auto defaults = classify(request("Application/JSON; charset=utf-8"),
                                 json_body({{"images", {kFoo}}, {"labels", {"x"}}}));
  EXPECT_EQ(defaults.options.prompt_template, ClassifyOptions{}.prompt_template);
  EXPECT_EQ(defaults.options.top_k, 0);
  EXPECT_FALSE(defaults.raw);
  EXPECT_EQ(defaults.model, "");
  const auto verbatim =
      classify(request("application/json"),
               json_body({{"images", {kFoo}}, {"labels", {"x"}}, {"template", nullptr}}));
  EXPECT_FALSE(verbatim.options.prompt_template.has_value());
}

TEST(Inputs, Base64PaddingAlphabetsAndLineBreaks) {
  const std::pair<std::string, std::string> cases[] = {
      {"Zm9vYg==", "foob"},          // padded
      {"Zm9vYg", "foob"},            // unpadded
      {"Zm9v\nYmFy\r\n", "foobar"},  // line breaks, as `base64` wraps its lines
      {" Zm9v YmE= ", "fooba"},      // spaces
      {"-_-_", "\xfb\xff\xbf"},      // URL-safe alphabet
      {"data:image/jpeg;base64,+/+/", "\xfb\xff\xbf"},
      {"data:;base64,Zg", "f"}};  // a data URL without a media type
  for (const auto& [text, decoded] : cases) {
    const auto in =
        classify(request("application/json"), json_body({{"images", {text}}, {"labels", {"x"}}}));
    ASSERT_EQ(in.images.size(), 1u);
    EXPECT_FALSE(in.images[0].error) << text << ": " << in.images[0].error->dump();
    EXPECT_EQ(in.images[0].bytes, decoded) << text;
  }
}

TEST(Inputs, UnusableJsonImagesAreItemErrorsInTheirSlots) {
  const std::pair<json, std::string> cases[] = {
      {json(5), "image 0 must be a base64 string or a data URL"},
      {json(nullptr), "image 0 must be a base64 string or a data URL"},
      {json("Zm9v!"), "image 0: not base64: unexpected character at offset 4"},
      {json("Zg=Zg"), "image 0: not base64: unexpected character at offset 3"},  // after padding
      {json("Zm9vY"), "image 0: not base64: the text ends in the middle of a byte"},
      {json("Zg==="), "image 0: not base64: the text ends in the middle of a byte"},
      {json(""), "image 0: empty image"},
      {json(" \n="), "image 0: empty image"},
      {json("data:image/png;base64,"), "image 0: empty image"},
      {json("data:image/png,Zm9v"), "image 0: a data URL must be data:<type>;base64,<data>"},
      {json("data:image/png;base64"), "image 0: a data URL must be data:<type>;base64,<data>"}};
  for (const auto& [image, message] : cases) {
    // The bad image sits between two good ones, which keep their bytes.
    const auto in = classify(request("application/json"),
                             json_body({{"images", {kFoo, image, kHi}}, {"labels", {"x"}}}));
    ASSERT_EQ(in.images.size(), 3u) << image;
    EXPECT_EQ(in.images[0].bytes, "foo");
    EXPECT_EQ(in.images[2].bytes, "hi!");
    ASSERT_TRUE(in.images[1].error) << image;
    EXPECT_EQ((*in.images[1].error)["code"], "invalid_argument");
    // The index is the image's own (1), not 0.
    std::string expected = message;
    expected.replace(expected.find("image 0"), 7, "image 1");
    EXPECT_EQ((*in.images[1].error)["message"], expected) << image;
  }
}

TEST(Inputs, JsonRefusalsAre400WithTheirReason) {
  const auto r = request("application/json");
  const json ok_images = {kFoo};
  const std::pair<std::string, std::string> cases[] = {
      {"{not json", "the body is not valid JSON"},
      {"", "the body is not valid JSON"},
      {"[1, 2]", "the JSON body must be an object"},
      {R"({"labels": ["x"]})", "\"images\" must be an array"},
      {R"({"images": "Zm9v", "labels": ["x"]})", "\"images\" must be an array"},
      {R"({"images": [], "labels": ["x"]})", "no image given"},
      {R"({"images": ["Zm9v"]})", "no labels given"},
      {R"({"images": ["Zm9v"], "labels": []})", "no labels given"},
      {R"({"images": ["Zm9v"], "labels": "x"})", "\"labels\" must be an array of strings"},
      {R"({"images": ["Zm9v"], "labels": ["x", 3]})", "\"labels\" must be an array of strings"},
      {R"({"images": ["Zm9v"], "labels": ["x"], "template": 3})",
       "\"template\" must be a string or null"},
      {R"({"images": ["Zm9v"], "labels": ["x"], "top_k": "2"})",
       "\"top_k\" must be a whole number"},
      {R"({"images": ["Zm9v"], "labels": ["x"], "top_k": 1.5})",
       "\"top_k\" must be a whole number"},
      // Past an int: it used to wrap (2^32 became 0, every label).
      {R"({"images": ["Zm9v"], "labels": ["x"], "top_k": 4294967296})",
       "\"top_k\" must be a whole number, got 4294967296"},
      {R"({"images": ["Zm9v"], "labels": ["x"], "top_k": -2147483649})",
       "\"top_k\" must be a whole number"},
      {R"({"images": ["Zm9v"], "labels": ["x"], "raw": "true"})", "\"raw\" must be true or false"},
      {R"({"images": ["Zm9v"], "labels": ["x"], "model": 1})", "\"model\" must be a string"}};
  for (const auto& [body, message] : cases) {
    SCOPED_TRACE(body);
    expect_refused([&] { classify(r, bytes(body)); }, 400, "bad_request", message);
  }
  // The extremes of an int still pass (the library refuses a negative top_k, not the reader).
  EXPECT_EQ(classify(r, bytes(R"({"images": ["Zm9v"], "labels": ["x"], "top_k": 2147483647})"))
                .options.top_k,
            2147483647);
  EXPECT_EQ(classify(r, bytes(R"({"images": ["Zm9v"], "labels": ["x"], "top_k": -2147483648})"))
                .options.top_k,
            -2147483647 - 1);
  // Invalid UTF-8 inside a JSON string is not JSON.
  expect_refused([&] { classify(r, bytes("{\"images\": [\"Zm9v\"], \"labels\": [\"\xff\"]}")); },
                 400, "bad_request", "not valid JSON");
}

TEST(Inputs, CountsAtTheLimitPassAndAboveAre422) {
  const auto r = request("application/json");
  const json four = {kFoo, kFoo, kFoo, kFoo};
  const json three = {"a", "b", "c"};
  const auto in = classify(r, json_body({{"images", four}, {"labels", three}}), limits(4, 3));
  EXPECT_EQ(in.images.size(), 4u);
  EXPECT_EQ(in.labels.size(), 3u);
  json five = four;
  five.push_back(kFoo);
  expect_refused(
      [&] {
        classify(r, json_body({{"images", five}, {"labels", three}}), limits(4, 3));
      },
      422, "limit_exceeded", "5 images in one request; the limit is 4");
  json labels = three;
  labels.push_back("d");
  expect_refused(
      [&] {
        classify(r, json_body({{"images", four}, {"labels", labels}}), limits(4, 3));
      },
      422, "limit_exceeded", "4 labels in one request; the limit is 3");
  // A bad image still counts: the limit is on what the client sent.
  json bad = {5, 5, 5, 5, 5};
  expect_refused(
      [&] {
        classify(r, json_body({{"images", bad}, {"labels", three}}), limits(4, 3));
      },
      422, "limit_exceeded", "5 images");
}

TEST(Inputs, MultipartImagesLabelsAndOptionsInOrder) {
  const auto in = classify(request("multipart/form-data; boundary=x"),
                           parts({{"label", "a dog"},
                                  {"image", "first"},
                                  {"template", "{label}!"},
                                  {"image", ""},  // an empty file: decoding reports it later
                                  {"label", "a cat"},
                                  {"top_k", "2"},
                                  {"raw", "1"},
                                  {"model", "m/x"},
                                  {"unknown", "ignored"},
                                  {"image", std::string("\0\xff", 2)}}));
  ASSERT_EQ(in.images.size(), 3u);
  EXPECT_EQ(in.images[0].bytes, "first");
  EXPECT_EQ(in.images[1].bytes, "");
  EXPECT_EQ(in.images[2].bytes, std::string("\0\xff", 2));  // binary kept as is
  for (const auto& image : in.images) EXPECT_FALSE(image.error);
  EXPECT_EQ(in.labels, (std::vector<std::string>{"a dog", "a cat"}));
  EXPECT_EQ(in.options.prompt_template, "{label}!");
  EXPECT_EQ(in.options.top_k, 2);
  EXPECT_TRUE(in.raw);
  EXPECT_EQ(in.model, "m/x");
}

TEST(Inputs, MultipartAndQueryValuesAreChecked) {
  const auto m = request("multipart/form-data; boundary=x");
  expect_refused(
      [&] {
        classify(m, parts({{"label", "x"}}));
      },
      400, "bad_request", "no image given");
  expect_refused(
      [&] {
        classify(m, parts({{"image", "x"}}));
      },
      400, "bad_request", "no labels given");
  expect_refused([&] { classify(m, parts({})); }, 400, "bad_request", "no image given");
  for (const std::string k : {"x", "", "1.5", "+1", " 1", "1 ", "99999999999"}) {
    expect_refused(
        [&] {
          classify(m, parts({{"image", "i"}, {"label", "x"}, {"top_k", k}}));
        },
        400, "bad_request", "top_k must be a whole number, got '" + k + "'");
  }
  for (const std::string raw : {"yes", "TRUE", "2"}) {
    expect_refused(
        [&] {
          classify(m, parts({{"image", "i"}, {"label", "x"}, {"raw", raw}}));
        },
        400, "bad_request", "raw must be true or false, got '" + raw + "'");
  }
  const std::pair<std::string, bool> flags[] = {
      {"true", true}, {"1", true}, {"false", false}, {"0", false}, {"", false}};
  for (const auto& [raw, value] : flags)
    EXPECT_EQ(classify(m, parts({{"image", "i"}, {"label", "x"}, {"raw", raw}})).raw, value) << raw;
  // Negative top_k parses; the library refuses it (400 invalid_argument, serve_test).
  EXPECT_EQ(classify(m, parts({{"image", "i"}, {"label", "x"}, {"top_k", "-1"}})).options.top_k,
            -1);
}

TEST(Inputs, RawBodyTakesTheQuery) {
  const auto in = classify(request("image/png", {{"label", "a dog"},
                                                 {"label", "a cat"},
                                                 {"top_k", "1"},
                                                 {"raw", "true"},
                                                 {"template", "{label}"},
                                                 {"model", "m/x"}}),
                           bytes("PNGBYTES"));
  ASSERT_EQ(in.images.size(), 1u);
  EXPECT_EQ(in.images[0].bytes, "PNGBYTES");
  EXPECT_EQ(in.labels.size(), 2u);
  EXPECT_EQ(in.options.top_k, 1);
  EXPECT_TRUE(in.raw);
  EXPECT_EQ(in.options.prompt_template, "{label}");
  EXPECT_EQ(in.model, "m/x");
  expect_refused([&] { classify(request("image/jpeg"), bytes("x")); }, 400, "bad_request",
                 "no labels given");
  expect_refused(
      [&] {
        classify(request("image/jpeg", {{"label", "x"}, {"top_k", "two"}}), bytes("x"));
      },
      400, "bad_request", "top_k must be a whole number, got 'two'");
  // Too many labels in the query.
  expect_refused(
      [&] {
        classify(
            request("image/jpeg", {{"label", "a"}, {"label", "b"}, {"label", "c"}, {"label", "d"}}),
            bytes("x"));
      },
      422, "limit_exceeded", "4 labels");
}

TEST(Inputs, OtherContentTypesAre415) {
  for (const std::string type :
       {"text/plain", "", "application/x-www-form-urlencoded", "imagepng"}) {
    SCOPED_TRACE(type);
    expect_refused(
        [&] {
          classify(request(type, {{"label", "x"}}), bytes("x"));
        },
        415, "unsupported_media_type", "got '");
  }
  expect_refused([&] { read_embeddings_input(request("image/png"), bytes("x"), limits()); }, 415,
                 "unsupported_media_type", "application/json");
}

TEST(Inputs, SimilarityTakesExactlyTwoImages) {
  const auto r = request("application/json");
  const auto in = read_similarity_input(r, json_body({{"images", {kFoo, kHi}}}));
  ASSERT_EQ(in.images.size(), 2u);
  EXPECT_EQ(in.images[1].bytes, "hi!");
  for (const json& images : {json::array({kFoo}), json::array({kFoo, kFoo, kFoo}), json::array()}) {
    expect_refused(
        [&] {
          read_similarity_input(r, json_body({{"images", images}}));
        },
        400, "bad_request",
        "similarity takes exactly two images, got " + std::to_string(images.size()));
  }
  const auto multipart = read_similarity_input(request("multipart/form-data"),
                                               parts({{"image", "a"}, {"image", "b"}}));
  EXPECT_EQ(multipart.images.size(), 2u);
}

TEST(Inputs, EmbeddingsTextsAndImages) {
  const auto r = request("application/json");
  const auto one = read_embeddings_input(r, json_body({{"input", "a dog"}}), limits());
  ASSERT_EQ(one.inputs.size(), 1u);
  EXPECT_EQ(one.inputs[0].text, "a dog");
  const auto mixed = read_embeddings_input(
      r, json_body({{"model", "m/x"}, {"input", {{{"image", kFoo}}, "a cat"}}}), limits());
  EXPECT_EQ(mixed.model, "m/x");
  ASSERT_EQ(mixed.inputs.size(), 2u);
  EXPECT_FALSE(mixed.inputs[0].text);
  EXPECT_EQ(mixed.inputs[0].image.bytes, "foo");
  EXPECT_EQ(mixed.inputs[1].text, "a cat");
  // A bad image is the item's error, with its index among the inputs.
  const auto bad =
      read_embeddings_input(r, json_body({{"input", {"a", {{"image", "!"}}}}}), limits());
  ASSERT_TRUE(bad.inputs[1].image.error);
  EXPECT_EQ((*bad.inputs[1].image.error)["message"],
            "image 1: not base64: unexpected character at offset 0");
}

TEST(Inputs, EmbeddingsRefusals) {
  const auto r = request("application/json");
  const std::pair<json, std::string> cases[] = {
      {json::object(), "\"input\" is required"},
      {{{"input", json::array()}}, "\"input\" is empty"},
      {{{"input", 5}}, "input 0 must be a string or an object {\"image\": BASE64}"},
      {{{"input", {"a", {{"text", "b"}}}}}, "input 1 must be a string or an object"},
      {{{"input", nullptr}}, "input 0 must be a string"},
      {{{"input", "a"}, {"model", 5}}, "\"model\" must be a string"}};
  for (const auto& [body, message] : cases) {
    SCOPED_TRACE(body.dump());
    expect_refused([&] { read_embeddings_input(r, json_body(body), limits()); }, 400, "bad_request",
                   message);
  }
  expect_refused([&] { read_embeddings_input(r, bytes("nope"), limits()); }, 400, "bad_request",
                 "not valid JSON");
  // Two inputs pass, three are over the limit.
  EXPECT_EQ(read_embeddings_input(r, json_body({{"input", {"a", "b"}}}), limits()).inputs.size(),
            2u);
  expect_refused(
      [&] {
        read_embeddings_input(r, json_body({{"input", {"a", "b", "c"}}}), limits());
      },
      422, "limit_exceeded", "3 inputs in one request; the limit is 2");
}

// A content reader that hands out `chunks` as cpp-httplib's does; for multipart, each part is
// (name, chunks). `complete` = false: the transfer broke after the last chunk.
httplib::ContentReader reader(
    std::vector<std::string> chunks, bool complete = true,
    std::vector<std::pair<std::string, std::vector<std::string>>> parts = {}) {
  return httplib::ContentReader(
      [=](httplib::ContentReceiver receive) {
        for (const auto& c : chunks)
          if (!receive(c.data(), c.size())) return false;
        return complete;
      },
      [=](httplib::MultipartContentHeader header, httplib::ContentReceiver receive) {
        for (const auto& [name, part_chunks] : parts) {
          httplib::MultipartFormData part;
          part.name = name;
          if (!header(part)) return false;
          for (const auto& c : part_chunks)
            if (!receive(c.data(), c.size())) return false;
        }
        return complete;
      });
}

TEST(ReadBody, PlainAndChunkedBodiesUpToTheLimit) {
  auto r = request("application/json");
  EXPECT_EQ(read_body(r, reader({"ab", "cd", ""}), 4).bytes, "abcd");  // exactly the limit
  EXPECT_EQ(read_body(r, reader({}), 4).bytes, "");
  // One byte over, however it is cut: 413, and reading stops there.
  for (const auto& chunks :
       {std::vector<std::string>{"abcde"}, {"ab", "cd", "e"}, {"abcd", "e", "more"}}) {
    expect_refused([&] { read_body(r, reader(chunks), 4); }, 413, "payload_too_large",
                   "larger than the server's limit of 4 bytes");
  }
  // A declared Content-Length over the limit is refused even if fewer bytes came.
  r.headers.emplace("Content-Length", "5");
  expect_refused([&] { read_body(r, reader({"ab"}), 4); }, 413, "payload_too_large", "4 bytes");
  auto declared_ok = request("application/json");
  declared_ok.headers.emplace("Content-Length", "4");
  EXPECT_EQ(read_body(declared_ok, reader({"abcd"}), 4).bytes, "abcd");
  auto garbage = request("application/json");
  garbage.headers.emplace("Content-Length", "x");
  expect_refused([&] { read_body(garbage, reader({"a"}), 4); }, 413, "payload_too_large", "limit");
  // A transfer that broke (bad chunk encoding, a client gone) is a 400.
  expect_refused([&] { read_body(request("image/png"), reader({"ab"}, false), 4); }, 400,
                 "bad_request", "the body could not be read");
}

TEST(ReadBody, MultipartPartsInOrderUnderOneLimit) {
  const auto r = request("multipart/form-data; boundary=x");
  const auto body = read_body(
      r, reader({}, true, {{"label", {"a ", "dog"}}, {"image", {"12", "34"}}, {"e", {}}}), 9);
  EXPECT_EQ(body.bytes, "");
  ASSERT_EQ(body.parts.size(), 3u);
  EXPECT_EQ(body.parts[0], (std::pair<std::string, std::string>{"label", "a dog"}));
  EXPECT_EQ(body.parts[1], (std::pair<std::string, std::string>{"image", "1234"}));
  EXPECT_EQ(body.parts[2], (std::pair<std::string, std::string>{"e", ""}));
  // The limit is on the parts' contents together: 5 + 5 > 9.
  expect_refused(
      [&] {
        read_body(r, reader({}, true, {{"label", {"a dog"}}, {"image", {"12345"}}}), 9);
      },
      413, "payload_too_large", "9 bytes");
  expect_refused(
      [&] {
        read_body(r, reader({}, false, {{"image", {"1"}}}), 9);
      },
      400, "bad_request", "could not be read");
}

}  // namespace
}  // namespace zeroshot::server
