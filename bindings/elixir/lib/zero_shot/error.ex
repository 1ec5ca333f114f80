defmodule ZeroShot.Error do
  @moduledoc """
  A failure of the library: `:code` is its stable name (`:image_decode`, `:image_read`,
  `:invalid_argument`, `:model_not_found`, ...; docs/ERRORS.md), `:message` what went wrong.
  """
  defexception [:code, :message]

  @impl true
  def message(%__MODULE__{code: code, message: message}), do: "#{message} [#{code}]"
end
