"""Names to entries, timm-style: one `Registry` each for architectures, datasets,
evaluation attacks and a recipe's components.

An entry is registered once under its name, by a call or as a decorator:

    >>> attacks = Registry("attack")
    >>> @attacks.register("noop")
    ... def noop(eps):
    ...     return None
    >>> attacks.list()
    ['noop']
    >>> attacks.get("nop")
    Traceback (most recent call last):
    ...
    ValueError: Unknown attack 'nop' (did you mean 'noop'?). Valid names: noop. Received: name='nop'

What an entry is (a builder, a plain-data spec, a class path) is the owner's
choice; `get` returns it as registered.
"""

import difflib


def suggest(name, valid):
    """`" (did you mean 'x'?)"` for the closest of `valid` to `name`, or `""`."""
    close = difflib.get_close_matches(str(name), list(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class Registry:
    """Entries by name; `kind` ("architecture", "dataset", ...) words the errors."""

    def __init__(self, kind):
        self.kind = kind
        self._entries = {}

    def register(self, name, entry=None):
        """Register `entry` as `name` and return it; without `entry`, a decorator."""
        if entry is None:
            return lambda decorated: self.register(name, decorated)
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def get(self, name):
        """The entry registered as `name`; an unknown name is a `ValueError` naming the
        closest and the valid ones."""
        if name not in self._entries:
            raise ValueError(
                f"Unknown {self.kind} {name!r}{suggest(name, self._entries)}. "
                f"Valid names: {', '.join(self.list())}. Received: name={name!r}"
            )
        return self._entries[name]

    def list(self):
        """The registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name):
        return name in self._entries
