defmodule ZeroShot do
  @moduledoc """
  Zero-shot image classification with CLIP and SigLIP, over zeroshot's C API (a NIF; the calls
  run on dirty CPU schedulers). The API of `Image.ZeroShot` (hex package image_vision):

      ZeroShot.classify("dog.jpg", ["a dog", "a cat"])
      # => [%{label: "a dog", score: 0.97}, %{label: "a cat", score: 0.03}]
      ZeroShot.label("dog.jpg", ["a dog", "a cat"])        # => "a dog"
      ZeroShot.similarity("cat1.jpg", "cat2.jpg")          # => 0.91

  Options: `:repo` (a hub repo id or local model folder; default
  `"openai/clip-vit-base-patch32"`) and `:template` (default `"a photo of {label}"`; `nil`: the
  labels verbatim). One model per repo is loaded once and shared by every process for the life of
  the VM; label embeddings are cached in it (a label seen before needs no text-model pass).

  An image is a file path, encoded image bytes (PNG, JPEG, WebP, ...), `{:rgb, width, height,
  pixels}`, or, when the `vix` library is loaded, a `%Vix.Vips.Image{}`. Bad input raises
  `ArgumentError` (wrong types) or `ZeroShot.Error` (with `:code`, e.g. `:image_decode`).
  """

  @default_repo "openai/clip-vit-base-patch32"
  @default_template "a photo of {label}"

  @doc "Every label with its score, best first: `[%{label: l, score: s}]`."
  def classify(image, labels, opts \\ []) do
    {repo, template} = options(opts)
    labels = check_labels(labels)

    case ZeroShot.Nif.classify(model(repo), image_term(image), labels, template, 0) do
      {:ok, scores} ->
        labels = List.to_tuple(labels)
        Enum.map(scores, fn {index, score} -> %{label: elem(labels, index), score: score} end)

      {:error, error} ->
        raise_error(error)
    end
  end

  @doc "The best label of `classify/3`."
  def label(image, labels, opts \\ []) do
    [%{label: best} | _] = classify(image, labels, opts)
    best
  end

  @doc "Cosine similarity of two images' embeddings, a float in [-1.0, 1.0]."
  def similarity(image_a, image_b, opts \\ []) do
    {repo, _template} = options(opts)

    case ZeroShot.Nif.similarity(model(repo), image_term(image_a), image_term(image_b)) do
      {:ok, value} -> value
      {:error, error} -> raise_error(error)
    end
  end

  @doc "The library's version."
  def version, do: ZeroShot.Nif.version()

  @doc false
  # {hits, misses} of the shared model's text embedding cache (the tests check label caching).
  def text_cache_stats(opts \\ []) do
    {repo, _} = options(opts)
    ZeroShot.Nif.text_cache_stats(model(repo))
  end

  defp options(opts) do
    unless Keyword.keyword?(opts), do: raise(ArgumentError, "options must be a keyword list")
    repo = Keyword.get(opts, :repo, @default_repo)
    template = Keyword.get(opts, :template, @default_template)

    unless is_binary(repo), do: raise(ArgumentError, ":repo must be a string")

    unless is_nil(template) or is_binary(template),
      do: raise(ArgumentError, ":template must be a string or nil")

    {repo, template}
  end

  defp check_labels(labels) when is_list(labels) do
    if Enum.all?(labels, &is_binary/1),
      do: labels,
      else: raise(ArgumentError, "labels must be a list of strings")
  end

  defp check_labels(_), do: raise(ArgumentError, "labels must be a list of strings")

  # One model per repo for the VM: the library's shared cache loads it once, even when many
  # processes ask at once; :persistent_term keeps the handle without a process in between.
  defp model(repo) do
    key = {__MODULE__, :model, repo}

    case :persistent_term.get(key, nil) do
      nil ->
        case ZeroShot.Nif.open_shared(repo, "main") do
          {:ok, model} ->
            :persistent_term.put(key, model)
            model

          {:error, error} ->
            raise_error(error)
        end

      model ->
        model
    end
  end

  # A binary is a path when it is valid UTF-8 without NUL bytes (encoded images never are: PNG,
  # JPEG, GIF, WebP headers hold invalid UTF-8 or NUL), otherwise encoded image bytes.
  defp image_term(image) when is_binary(image) do
    if String.valid?(image) and not String.contains?(image, <<0>>),
      do: {:path, image},
      else: {:bytes, image}
  end

  defp image_term({:rgb, width, height, pixels} = image)
       when is_integer(width) and is_integer(height) and is_binary(pixels) do
    if width > 0 and height > 0 and byte_size(pixels) == width * height * 3,
      do: image,
      else: raise(ArgumentError, "{:rgb, width, height, pixels} needs width*height*3 bytes")
  end

  defp image_term(%{__struct__: Vix.Vips.Image} = image) do
    # Encoded losslessly (PNG) and decoded by the library: vix's pixels, the library's path.
    case apply(Vix.Vips.Image, :write_to_buffer, [image, ".png"]) do
      {:ok, bytes} -> {:bytes, bytes}
      {:error, reason} -> raise ArgumentError, "cannot encode the Vix image: #{inspect(reason)}"
    end
  end

  defp image_term(other) do
    raise ArgumentError,
          "image must be a file path, encoded image bytes, {:rgb, w, h, pixels} or a " <>
            "%Vix.Vips.Image{}, got: #{inspect(other, limit: 5)}"
  end

  defp raise_error({code, message}), do: raise(ZeroShot.Error, code: code, message: message)
end
