defmodule ZeroShot.Nif do
  @moduledoc false
  # The NIF (c_src/zeroshot_nif.c) over the C API; ZeroShot is its only caller.
  @on_load :load

  def load do
    path = :filename.join(:code.priv_dir(:zeroshot), ~c"zeroshot_nif")
    :erlang.load_nif(path, 0)
  end

  def open_shared(_repo, _revision), do: :erlang.nif_error(:not_loaded)
  def classify(_model, _image, _labels, _template, _top_k), do: :erlang.nif_error(:not_loaded)
  def similarity(_model, _image_a, _image_b), do: :erlang.nif_error(:not_loaded)
  def text_cache_stats(_model), do: :erlang.nif_error(:not_loaded)
  def version, do: :erlang.nif_error(:not_loaded)
end
