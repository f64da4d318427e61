"""OpenInference's LLM provider / system detection, answered once per LLM class instead of once per LLM span.

OpenInference stamps `llm.provider` and `llm.system` on every LLM span with `_detect_llm_provider(instance)` and
`_detect_llm_system(instance)` (its `_handler` module). Each tries to import the optional provider packages
(`llama_index.llms.openai`, `.anthropic`, `.azure_openai`, `.vertex`) and falls back to the class name. A package that
is not installed is searched for on `sys.path` again at every call (Python does not remember a failed import): about
80 us per function and LLM span, 10 calls per agent run of the instrumentation benchmark, the same in every run.

`DetectionMemo` wraps both functions and keeps their answer per `type(instance)`. The answer is a function of the
class alone: `isinstance` against a provider class can only be true for a class defined after that provider module
was imported (so its import succeeds and is cheap: no failure to repeat), and the fallback reads the class name.
(Not covered: registering an LLM class as a *virtual* subclass of a provider class after it was first seen, which no
LLM integration does.) So the spans carry exactly the attributes OpenInference would give them
(tests/instrumentation/test_llm_detection.py compares both on every LLM class at hand).

The table is bounded (cleared past `capacity` classes) and a class is held weakly, never kept alive by the memo.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

OI_HANDLER_MODULE = "openinference.instrumentation.llama_index._handler"
DETECTORS = ("_detect_llm_provider", "_detect_llm_system")


class DetectionMemo:
    """A wrapt wrapper for one of OpenInference's detection functions: the wrapped function's answer per class."""

    def __init__(self, capacity: int = 256) -> None:
        self._answers: weakref.WeakKeyDictionary[type, Any] = weakref.WeakKeyDictionary()
        self._capacity = capacity

    def __call__(self, wrapped: Callable[[Any], Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        if len(args) != 1 or kwargs:  # not the one-argument call OpenInference makes: ask it directly
            return wrapped(*args, **kwargs)
        kind = type(args[0])
        try:
            return self._answers[kind]
        except KeyError:
            pass
        except TypeError:  # a class that cannot be weakly referenced
            return wrapped(*args)
        answer = wrapped(*args)
        if len(self._answers) >= self._capacity:
            self._answers.clear()
        self._answers[kind] = answer
        return answer


def wrap_detectors(wrap: Callable[[str, str, Any], Any]) -> list[str]:
    """Wrap each detection function present in OpenInference's handler module with its own `DetectionMemo`, through
    `wrap(module, name, wrapper)` (wrapt.wrap_function_wrapper); returns the names wrapped (for `unwrap`)."""
    import importlib

    handler = importlib.import_module(OI_HANDLER_MODULE)
    wrapped = []
    for name in DETECTORS:
        if callable(getattr(handler, name, None)):
            wrap(OI_HANDLER_MODULE, name, DetectionMemo())
            wrapped.append(name)
    return wrapped
