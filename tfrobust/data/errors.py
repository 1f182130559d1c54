"""Errors that tell the user which file or source is wrong and how to fix it."""


class DatasetNotFoundError(FileNotFoundError):
    """No source could provide the dataset; the message lists every place tried."""


class ChecksumError(ValueError):
    """A data file does not match its entry in `SHA256SUMS`."""


class DataFileError(ValueError):
    """A data file exists but cannot be decoded (truncated, corrupted, not the format)."""
