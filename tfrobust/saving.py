"""Load a `.keras` file with an error that says what is wrong with it.

Keras answers a truncated or foreign file with "File not found: filepath=..."
although the file exists; the user then looks for the wrong problem.
"""

import pathlib
import zipfile


class ModelFileError(ValueError):
    """A `.keras` path exists but is not a readable Keras archive."""


def load_keras(path):
    """`keras.saving.load_model(path, compile=False)`, with the layers tfrobust defines."""
    import keras

    import tfrobust.architectures  # noqa: F401  registers the layers a model may hold
    import tfrobust.layers  # noqa: F401

    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {path}. Received: {str(path)!r}")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(
            f"{path} is damaged or not a Keras archive (a .keras file is a zip archive; this one "
            "is truncated or of another format). Save the model again with model.save(path) "
            f"or download it again. Received: {path.stat().st_size} bytes"
        )
    try:
        return keras.saving.load_model(path, compile=False)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        if isinstance(error, ModelFileError):
            raise
        raise ModelFileError(
            f"{path} is damaged or not a Keras archive: Keras could not load it "
            f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}). "
            "Save the model again or download it again."
        ) from error
