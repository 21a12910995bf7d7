"""``rnnlab export``: a trained run in the formats other programs load, one module per format
(``config.EXPORT_FORMATS``): :mod:`.hf` (a Hugging Face Hub folder: safetensors, config.json, a
model card), :mod:`.onnx` (one step with the state as explicit inputs and outputs) and :mod:`.web`
(one HTML file that writes in the browser).

Each module has ``OUTPUT`` ("folder" or "file") and ``write(ckpt, model, out, cfg) -> str``:
it writes ``out`` (a new temporary folder, or a file path in one) from the checkpoint and its
network, and returns one line saying what it wrote; ``rnnlab.commands.export`` moves the result
into place only once it is whole.
"""
